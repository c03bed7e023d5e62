"""The OpenAPI schema and Swagger UI need a login or a read token (they map the whole API)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tokens.services import token_create


@pytest.fixture
def bearer(make_user: Callable[..., User]) -> Callable[[str], dict[str, str]]:
    staff = make_user("docs-staff", staff=True)

    def headers(scope: str) -> dict[str, str]:
        _, raw = token_create(name=f"docs {scope}", scope=scope, created_by=staff)
        return {"Authorization": f"Bearer {raw}"}

    return headers


def test_anonymous_clients_get_neither_schema_nor_docs(db: None, client: Client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 401
    assert "paths" not in schema.content.decode()
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == "/accounts/login/?next=/api/docs/"


def test_a_read_token_gets_the_schema_an_ingest_token_does_not(
    client: Client, bearer: Callable[[str], dict[str, str]]
) -> None:
    response = client.get("/api/schema/?format=json", headers=bearer("read"))
    assert response.status_code == 200
    assert "/api/v1/teams/" in response.json()["paths"]
    assert client.get("/api/schema/", headers=bearer("ingest")).status_code == 403


def test_a_logged_in_user_gets_schema_and_docs(client: Client, member: User) -> None:
    client.force_login(member)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.content.decode()
