"""Alertname + labels → one rule, or an honest "ambiguous", the same on the API and the page.

alerts.selectors.rule_resolution is the one resolution both use: empty label values count
as absent, a rule is a candidate unless a given label contradicts its matchers, and several
candidates that the labels do not tell apart answer `ambiguous` with the candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule, Episode
from alerts.selectors import rule_resolution
from fleet.models import AISystem, Team
from runbooks.models import Runbook
from tests.api_helpers import token_client

pytestmark = pytest.mark.django_db

URL = "/runbooks/for/ModelLatencyHigh/"


@pytest.fixture
def rules(
    team: Team, system: AISystem, runbook: Runbook, make_episode: Callable[..., Episode]
) -> dict[str, AlertRule]:
    """Three rules share the alertname; only the churn one fires now."""
    prod = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer", "env": "prod"},
        severity="page",
        owner_team=team,
        system=system,
        runbook=runbook,
    )
    staging = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer", "env": "staging"},
        severity="warning",
        system=system,
    )
    churn = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "churn"}, severity="warning"
    )
    make_episode(churn, labels={"model": "churn", "pod": "churn-0"})
    return {"prod": prod, "staging": staging, "churn": churn}


def _api(**labels: str) -> dict[str, Any]:
    response = token_client("read").get(
        "/api/v1/ownership/", {"alertname": "ModelLatencyHigh", **labels}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _page(client: Client, user: User, query: str) -> str:
    client.force_login(user)
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"model": "fraud-scorer", "env": "prod"}, "prod"),  # single match
        ({"model": "churn"}, "churn"),  # partial: env is not needed to tell churn apart
        ({"model": "churn", "env": ""}, "churn"),  # empty counts as absent
        ({"model": "churn", "pod": "churn-0", "env": "prod"}, "churn"),  # extra labels
    ],
)
def test_labels_that_select_one_rule_answer_it(
    rules: dict[str, AlertRule], labels: dict[str, str], expected: str
) -> None:
    assert rule_resolution(rules.values(), labels).rule == rules[expected]
    body = _api(**labels)
    assert body["rule"]["id"] == rules[expected].pk
    assert body["candidates"] == []


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, ["churn", "prod", "staging"]),  # missing
        ({"model": "", "env": ""}, ["churn", "prod", "staging"]),  # empty (the broken recipe)
        ({"model": "fraud-scorer"}, ["prod", "staging"]),  # partial
        ({"model": "fraud-scorer", "env": ""}, ["prod", "staging"]),  # partial, empty env
        ({"env": "prod"}, ["churn", "prod"]),  # partial: staging is ruled out
    ],
)
def test_labels_that_leave_several_rules_answer_ambiguous(
    rules: dict[str, AlertRule], labels: dict[str, str], expected: list[str]
) -> None:
    resolution = rule_resolution(rules.values(), labels)
    assert resolution.rule is None and resolution.ambiguous
    assert sorted(resolution.candidates, key=str) == sorted(
        (rules[name] for name in expected), key=str
    )
    body = _api(**labels)
    assert body["status"] == "ambiguous"
    assert body["rule"] is None and body["team"] is None
    by_id = {candidate["id"]: candidate for candidate in body["candidates"]}
    assert set(by_id) == {rules[name].pk for name in expected}
    if "prod" in expected:
        prod = by_id[rules["prod"].pk]
        assert prod["team"] == {"slug": "fraud-ml", "name": "Fraud ML"}
        assert prod["owned"] is True  # `member` (the runbook author) is in the team
        assert prod["matchers"] == {"model": "fraud-scorer", "env": "prod"}
        assert prod["runbook_slug"] == "fraud-latency"
        assert prod["runbook_url"].endswith(f"{URL}?env=prod&model=fraud-scorer")
    if "churn" in expected:
        assert by_id[rules["churn"].pk]["firing"] == 1
        assert by_id[rules["churn"].pk]["team"] is None


def test_staging_rule_falls_back_to_the_system_team(
    rules: dict[str, AlertRule], member: User
) -> None:
    body = _api(model="fraud-scorer", env="staging")
    assert body["status"] == "owned"
    assert body["team"]["slug"] == "fraud-ml"


def test_conflicting_labels_match_no_rule_but_list_the_rules_of_that_name(
    rules: dict[str, AlertRule], client: Client, member: User
) -> None:
    resolution = rule_resolution(rules.values(), {"model": "fraud-scorer", "env": "dev"})
    assert resolution.rule is None and not resolution.ambiguous
    body = _api(model="fraud-scorer", env="dev")
    assert body["status"] == "uncatalogued"
    assert {c["id"] for c in body["candidates"]} == {rule.pk for rule in rules.values()}
    html = _page(client, member, "?model=fraud-scorer&env=dev")
    assert "No rule named ModelLatencyHigh matches these labels" in html
    assert "Nobody owns this alert" not in html


def test_most_specific_rule_wins_over_the_catch_all(rules: dict[str, AlertRule]) -> None:
    catch_all = AlertRule.objects.create(alertname="ModelLatencyHigh")
    known = [*rules.values(), catch_all]
    assert rule_resolution(known, {"model": "churn"}).rule == rules["churn"]
    assert rule_resolution(known, {"model": "other"}).rule == catch_all
    # No labels: the catch-all fits, but so may every other rule: ambiguous, not a guess.
    assert rule_resolution(known, {}).ambiguous


def test_uncatalogued_alertname(db: None, client: Client, member: User) -> None:
    body = token_client("read").get("/api/v1/ownership/?alertname=Nope&model=x").json()
    assert body["status"] == "uncatalogued" and body["candidates"] == []
    html = _page_of(client, member, "/runbooks/for/Nope/?model=x")
    assert "Steward does not know this alert" in html


def _page_of(client: Client, user: User, url: str) -> str:
    client.force_login(user)
    return client.get(url).content.decode()


def test_on_call_page_shows_a_chooser_with_firing_rules_first(
    rules: dict[str, AlertRule], client: Client, member: User
) -> None:
    html = _page(client, member, "?model=&env=")  # what the broken recipe produced
    assert "3 rules named ModelLatencyHigh fit these labels" in html
    assert "Nobody owns this alert" not in html
    assert "Nothing is firing now" not in html
    assert "No runbook yet" not in html
    chooser = html[html.index('class="choices"') : html.index("</ul>", html.index("choices"))]
    links = [
        f'href="{URL}?model=churn"',
        f'href="{URL}?env=prod&amp;model=fraud-scorer"',
        f'href="{URL}?env=staging&amp;model=fraud-scorer"',
    ]
    positions = [chooser.index(link) for link in links]
    assert positions[0] < positions[1] and positions[0] < positions[2]  # firing first
    assert "firing now (1)" in chooser
    assert "Fraud ML" in chooser and "no owner" in chooser


def test_chooser_link_lands_on_the_rule_with_its_firing_episode(
    rules: dict[str, AlertRule], client: Client, member: User
) -> None:
    html = _page(client, member, "?model=churn")
    assert 'class="choices"' not in html
    assert "churn-0" in html  # the firing episode's labels
    assert "Nothing is firing now" not in html


def test_one_rule_and_partial_labels_answer_that_rule(
    client: Client, member: User, rule: AlertRule
) -> None:
    """A single rule of that name: no labels at all still lands on it (not "unknown")."""
    html = _page(client, member, "")
    assert "Latency of the fraud scorer is high." in html
    assert "Fraud ML" in html
