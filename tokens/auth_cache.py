"""Token authentication with a short cache, for the read-only hot path (ownership lookups).

Routers and CI gates ask "who owns this alert?" many times per second with the same token;
looking the token up in the database each time costs more than the answer itself. The token
is cached for TOKEN_CACHE_SECONDS under its SHA-256 (never the secret). Saving or deleting
the token (token_revoke, which the admin uses too) drops the entry at once; a revocation
that bypassed model signals (a queryset .update()) would take effect here only within the
TTL. The webhooks use `token_authenticate_local` (process memory, same TTL); every other
endpoint keeps the uncached authentication.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tokens.authentication import BearerTokenAuthentication, TokenUser, raw_token_from_header
from tokens.models import ApiToken, Integration
from tokens.services import token_authenticate, token_hash

TOKEN_CACHE_SECONDS = 10


def _key(hashed: str) -> str:
    return f"steward:token:{hashed}"


class CachedBearerTokenAuthentication(BearerTokenAuthentication):
    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        raw = raw_token_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if raw is None:
            return None
        key = _key(token_hash(raw)) if raw else ""
        token = _cache_get(key) if raw else None
        if token is None:
            token = token_authenticate(raw)
            if token is None:
                raise AuthenticationFailed("Invalid or revoked token.")
            _cache_set(key, token)
        return TokenUser(token), token


def _cache_get(key: str) -> ApiToken | None:
    try:
        value = cache.get(key)
    except Exception:  # noqa: BLE001 (a cache outage falls back to the database)
        return None
    return value if isinstance(value, ApiToken) else None


def _cache_set(key: str, token: ApiToken) -> None:
    try:
        cache.set(key, token, timeout=TOKEN_CACHE_SECONDS)
    except Exception:  # noqa: BLE001, S110 (caching is an optimisation only)
        pass


# Webhook tokens, in this process only: {sha256: (token, monotonic expiry)}. No round trip at
# all (Redis would be one), so that a delivery pays for its own statements only.
_local: dict[str, tuple[ApiToken, float]] = {}
_LOCAL_MAX = 1000


def token_authenticate_local(raw: str) -> ApiToken | None:
    """`token_authenticate` for the webhooks, remembered TOKEN_CACHE_SECONDS in this process.

    Revoking or deleting a token forgets it at once in the process that does it (the admin, a
    command) and within TOKEN_CACHE_SECONDS in every other worker. Unknown and revoked secrets
    are never remembered: each costs its database lookup, as before. `last_used_at` is still
    kept to the minute (refreshed by the lookup after each expiry).
    """
    if not raw:
        return None
    hashed = token_hash(raw)
    now = time.monotonic()
    known = _local.get(hashed)
    if known is not None and known[1] > now:
        return known[0]
    token = token_authenticate(raw)
    if token is None:
        _local.pop(hashed, None)
        return None
    if token.integration_id is not None:
        token.integration  # noqa: B018 (loaded once here, not on every delivery)
    if len(_local) >= _LOCAL_MAX:
        _local.clear()
    _local[hashed] = (token, now + TOKEN_CACHE_SECONDS)
    return token


def _forget(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    _local.pop(instance.token_hash, None)
    try:
        cache.delete(_key(instance.token_hash))
    except Exception:  # noqa: BLE001, S110
        pass


def _forget_all(sender: Any, **kwargs: Any) -> None:
    """An integration changed (its source, its signing secret): drop the tokens remembered
    with it."""
    _local.clear()


post_save.connect(_forget_all, sender=Integration, dispatch_uid="token-cache-integration-save")
post_delete.connect(_forget_all, sender=Integration, dispatch_uid="token-cache-integration-del")
post_save.connect(_forget, sender=ApiToken, dispatch_uid="token-cache-save")
post_delete.connect(_forget, sender=ApiToken, dispatch_uid="token-cache-delete")
