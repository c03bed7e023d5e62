"""Teaches drf-spectacular the token scheme of tokens.authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "tokens.authentication.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`manage.py create_token`): scope `read` for reads, "
            "`write` for changes, `ingest` for alert webhooks only. HTTP basic auth with the "
            "token as password also works.",
        }


class CachedBearerTokenScheme(BearerTokenScheme):  # type: ignore[no-untyped-call]
    """The same token on the ownership endpoint, whose lookup is cached (auth_cache)."""

    target_class = "tokens.auth_cache.CachedBearerTokenAuthentication"
    name = "tokenAuthCached"
