from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tokens.models import ApiToken
from tokens.services import token_create

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def capture() -> list[dict[str, Any]]:
    """Real Alertmanager 0.25 deliveries: fire, resolve, fire again (see capture-*.yml)."""
    return json.loads((FIXTURES / "alertmanager" / "alertmanager-0.25-capture.json").read_text())


@pytest.fixture
def ingest_token(db: None) -> str:
    _, raw = token_create(name="am", scope=ApiToken.Scope.INGEST)
    return raw


@pytest.fixture
def post(client: Client, ingest_token: str) -> Callable[..., Any]:
    def send(source: str, payload: object, *, token: str | None = None, **extra: Any) -> Any:
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        extra.setdefault("content_type", "application/json")
        return client.post(
            f"/api/v1/integrations/{source}/",
            data=body,
            HTTP_AUTHORIZATION=f"Bearer {token or ingest_token}",
            **extra,
        )

    return send
