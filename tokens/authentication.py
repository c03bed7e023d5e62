"""DRF authentication by API token: `Authorization: Bearer <token>` or HTTP basic auth with
the token as password (the two forms Alertmanager's `http_config` can send)."""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tokens.models import ApiToken
from tokens.services import token_authenticate


class TokenUser(AnonymousUser):
    """The request's user when it authenticated with a token rather than a session.

    It is authenticated, but not staff: permissions read the token's scope and team.
    """

    def __init__(self, token: ApiToken) -> None:
        super().__init__()
        self.token = token

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"token:{self.token.prefix}"


def raw_token_from_header(header: str) -> str | None:
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        return credentials
    if scheme == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = raw_token_from_header(header)
        if raw is None:
            return None
        token = token_authenticate(raw)
        if token is None:
            raise AuthenticationFailed("Invalid or revoked token.")
        return TokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="steward"'
