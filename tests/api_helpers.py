"""Helpers shared by the API tests: clients authenticated by token or session."""

from __future__ import annotations

from typing import Any

from django.test import Client

from fleet.models import Team
from tokens.services import token_create


def token_client(scope: str, team: Team | None = None, created_by: Any = None) -> Client:
    _, raw = token_create(name=f"{scope} token", scope=scope, team=team, created_by=created_by)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def session_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client
