"""The webhooks' OpenAPI description: real payloads as examples, each one accepted as documented."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from alerts.ingest.openapi import example
from alerts.integrations.registry import SOURCES
from alerts.models import Delivery
from tests.alerts.integrations.conftest import FIXTURES, capture

Post = Callable[..., Any]
FIXTURE_OF = {
    "grafana": "grafana.json",
    "whylabs": "whylabs-digest.json",
    "evidently": "evidently-test-suite.json",
}


def _schema_paths() -> dict[str, Any]:
    from tokens.services import token_create

    _, read = token_create(name="schema reader", scope="read")
    response = Client().get("/api/schema/?format=json", headers={"Authorization": f"Bearer {read}"})
    assert response.status_code == 200
    return response.json()["paths"]  # type: ignore[no-any-return]


def test_examples_are_the_real_fixtures() -> None:
    assert example("alertmanager") == capture()[0]
    for source, name in FIXTURE_OF.items():
        assert example(source) == json.loads((FIXTURES / "sources" / name).read_text()), source


@pytest.mark.parametrize("source", list(SOURCES))
def test_each_source_is_described_and_its_example_is_accepted(source: str, post: Post) -> None:
    operation = _schema_paths()[f"/api/v1/integrations/{source}/"]["post"]
    assert "`ingest` token" in operation["description"]
    assert set(operation["responses"]) >= {"200", "401", "403", "415", "503"}
    (documented,) = operation["requestBody"]["content"]["application/json"]["examples"].values()
    extra = {"QUERY_STRING": "system=fraud-scorer"} if "parameters" in operation else {}
    response = post(source, documented["value"], **extra)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(
        operation["responses"]["200"]["content"]["application/json"]["examples"]["Stored"]["value"]
    ) == set(body)
    assert body["alerts"] >= 1
    assert Delivery.objects.get().outcome != Delivery.Outcome.REJECTED


def test_a_read_token_gets_the_documented_403(client: Client, db: None) -> None:
    from tokens.services import token_create

    _, raw = token_create(name="reader", scope="read")
    response = client.post(
        "/api/v1/integrations/generic/",
        data=json.dumps(example("generic")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert set(response.json()) == {"status", "error"}
