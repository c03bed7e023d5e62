"""JSON bodies of the REST API (issue 17, finding 8): nesting is bounded and the refusal is a
400 naming the limit, not a RecursionError answered 500; strings no database can hold are
refused at the door."""

from __future__ import annotations

import pytest
from django.test import Client

from core import limits
from fleet.models import AISystem, Team
from tests.api_helpers import token_client

DEEP = '{"a": ' + "[" * 1000 + "]" * 1000 + "}"


@pytest.fixture
def write_client(team: Team) -> Client:
    return token_client("write", team=team)


@pytest.mark.parametrize("url", ["/api/v1/ownership/", "/api/v1/systems/"])
def test_deep_json_is_a_400_naming_the_limit(write_client: Client, url: str) -> None:
    response = write_client.post(url, DEEP, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "limit_exceeded"
    assert f"nested more than {limits.JSON_MAX_DEPTH} levels" in error["message"]


def test_nesting_at_the_limit_is_parsed(write_client: Client) -> None:
    labels = "[" * (limits.JSON_MAX_DEPTH - 1) + "]" * (limits.JSON_MAX_DEPTH - 1)
    response = write_client.post(
        "/api/v1/ownership/", '{"alerts": ' + labels + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"  # refused by the view, not the parser


@pytest.mark.parametrize("value", ["fraud\\u0000scorer", "fraud\\ud800scorer"])
def test_a_string_no_database_can_hold_is_a_400(
    write_client: Client, team: Team, value: str
) -> None:
    body = '{"slug": "fraud-scorer", "name": "' + value + '", "owner_team": "fraud-ml"}'
    response = write_client.post("/api/v1/systems/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "body.name" in response.json()["error"]["message"]
    assert not AISystem.objects.exists()
