"""OpenAPI description of the token authentication, for the schema of the SLO API.

Priority -1: if the API app registers its own extension for the same class, that one wins.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "alerts.authentication.BearerTokenAuthentication"
    name = "stewardToken"
    priority = -1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Steward API token."}
