"""The OpenAPI schema, its offline docs, and schemathesis fuzzing every operation against it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks

from alerts.models import AlertRule, Episode
from fleet.models import AISystem, Team
from runbooks.models import Runbook


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    """The schema served by the app itself, called in-process through WSGI (with a read token:
    the schema is not public).

    Like Django's test client, keep the test's connection (and its transaction) open across
    requests instead of letting the request signals close it.
    """
    from tokens.services import token_create

    _, read = token_create(name="schema reader", scope="read")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_wsgi(
            "/api/schema/", get_wsgi_application(), headers={"Authorization": f"Bearer {read}"}
        ).exclude(tag="integrations")
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# The ingest webhooks are in the schema (alerts/ingest/openapi.py) but a read or write
# token can only get their 403 there: tests/alerts/integrations/test_openapi_examples.py posts
# their documented examples with an ingest token instead.
schema = schemathesis.from_pytest_fixture("api_schema").exclude(tag="integrations")


@pytest.fixture
def fuzz_world(team: Team, member: User, make_user: Any) -> dict[str, str]:
    """A small catalog, and a read and a write token (the write one fleet-wide)."""
    from tokens.services import token_create

    staff = make_user("fuzz-staff", staff=True)
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    runbook = Runbook.objects.create(slug="latency", title="Latency", owner_team=team)
    rule = AlertRule.objects.create(
        alertname="ModelLatencyHigh", owner_team=team, system=system, runbook=runbook
    )
    from django.utils import timezone

    Episode.objects.create(
        rule=rule, fingerprint="abc", starts_at=timezone.now(), source="prometheus"
    )
    _, read = token_create(name="fuzz read", scope="read", created_by=staff)
    _, write = token_create(name="fuzz write", scope="write", created_by=staff)
    return {"read": read, "write": write}


FUZZ = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
CHECKS = (
    schemathesis.checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
)


@schema.parametrize()
@FUZZ
def test_api_conforms_with_a_read_token(case: Any, fuzz_world: dict[str, str]) -> None:
    response = case.call_wsgi(headers={"Authorization": f"Bearer {fuzz_world['read']}"})
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_conforms_with_a_write_token(case: Any, fuzz_world: dict[str, str]) -> None:
    response = case.call_wsgi(headers={"Authorization": f"Bearer {fuzz_world['write']}"})
    case.validate_response(response, checks=CHECKS)


def test_schema_describes_every_operation_with_examples(member: User) -> None:
    client = Client()
    client.force_login(member)
    doc = client.get("/api/schema/?format=json")
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    for path in [
        "/api/v1/teams/",
        "/api/v1/memberships/",
        "/api/v1/systems/",
        "/api/v1/alert-rules/",
        "/api/v1/runbooks/",
        "/api/v1/episodes/",
        "/api/v1/rule-weeks/",
        "/api/v1/flags/",
        "/api/v1/reviews/",
        "/api/v1/decisions/",
        "/api/v1/waivers/",
        "/api/v1/ownership/",
        "/api/v1/rules/lint/",
        "/api/v1/rules/lint/forecast/",
        "/api/v1/slos/",
        "/api/v1/slos/{id}/",
        "/api/v1/scorecards/",
        "/api/v1/scorecards/{slug}/",
        "/api/v1/teams/{slug}/slo-rules.yml",
        "/api/v1/integrations/alertmanager/",
        "/api/v1/integrations/grafana/",
        "/api/v1/integrations/datadog/",
        "/api/v1/integrations/whylabs/",
        "/api/v1/integrations/evidently/",
        "/api/v1/integrations/generic/",
    ]:
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("description"), f"{method} {path} has no description"
            if method != "delete":
                text = str(operation)
                assert "examples" in text, f"{method} {path} has no example"
    assert "Read-only here: decisions are recorded on the weekly review page" in str(
        paths["/api/v1/decisions/"]
    )


def test_docs_are_served_offline(member: User) -> None:
    client = Client()
    client.force_login(member)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls, "the page loads its assets from somewhere"
    assert all(not url.startswith(("http:", "https:", "//")) for url in urls), urls
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_schema_generates_without_warnings(db: None, tmp_path: Any) -> None:
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


@pytest.mark.parametrize("scope", ["read", "write"])
def test_api_stateful_sequences_conform(
    api_schema: Any, fuzz_world: dict[str, str], scope: str
) -> None:
    """Sequences of calls along the schema's links (api.docs.add_created_links): create a team,
    system, rule, runbook, SLO or waiver, then read, change and delete what was created."""
    from hypothesis import strategies as st
    from hypothesis.stateful import rule, run_state_machine_as_test

    from tests.fuzz.strategies import budget

    token = fuzz_world[scope]
    lists = sorted(path for path in api_schema.raw_schema["paths"] if path.count("/") == 4)

    class APIWorkflow(api_schema.as_state_machine()):  # type: ignore[misc]
        # A step that is always possible: when every create failed (a read token), schemathesis'
        # machine has no rule left to run and Hypothesis stops it as "no progress".
        # Called through WSGI like every other step: Django's test Client would reconnect the
        # request signals the fixture disconnected, and the next step would find the
        # connection (and the test's transaction) closed.
        @rule(path=st.sampled_from(lists))
        def list_what_exists(self, path: str) -> None:
            case = api_schema[path]["GET"].make_case()
            response = case.call_wsgi(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        APIWorkflow,
        settings=settings(
            max_examples=budget(15),
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_schema_links_each_create_to_its_object(admin_client: Client) -> None:
    paths = admin_client.get("/api/schema/?format=json").json()["paths"]
    links = paths["/api/v1/teams/"]["post"]["responses"]["201"]["links"]
    assert {link["parameters"]["slug"] for link in links.values()} == {"$response.body#/slug"}
    assert len(links) == 4  # get, put, patch, delete of /api/v1/teams/{slug}/
    waiver_links = paths["/api/v1/waivers/"]["post"]["responses"]["201"]["links"]
    assert all(link["parameters"] == {"id": "$response.body#/id"} for link in waiver_links.values())
