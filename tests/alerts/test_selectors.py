from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from alerts.models import AlertRule
from alerts.selectors import rule_candidates, rule_resolve, rules_by_alertname
from fleet.models import AISystem
from tokens.services import token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def test_rule_candidates_returns_the_same_rules_as_rules_by_alertname() -> None:
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer")
    fired = timezone.now()
    AlertRule.objects.create(alertname="Drift", matchers={}, matchers_key="")
    AlertRule.objects.create(
        alertname="Drift",
        matchers={"model": "fraud-scorer"},
        system=system,
        last_fired_at=fired,
    )
    AlertRule.objects.create(alertname="Other", matchers={}, matchers_key="")

    lean = rule_candidates(["Drift", "Drift", "Missing"])
    full = rules_by_alertname(["Drift", "Missing"])

    assert lean.keys() == full.keys() == {"Drift"}
    assert sorted(r.pk for r in lean["Drift"]) == sorted(r.pk for r in full["Drift"])
    specific = rule_resolve(lean["Drift"], {"alertname": "Drift", "model": "fraud-scorer"})
    assert specific is not None
    assert specific.matchers == {"model": "fraud-scorer"}
    assert specific.system_id == system.pk
    assert specific.last_fired_at == fired


def test_rule_candidates_of_nothing_runs_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert rule_candidates([]) == {}


def test_token_authenticate_is_one_query_and_revocation_is_immediate(
    django_assert_num_queries: Any,
) -> None:
    token, raw = token_create(name="am", scope="ingest")
    token_authenticate(raw)  # writes last_used_at
    with django_assert_num_queries(1):
        found = token_authenticate(raw)
    assert found is not None and found.pk == token.pk and found.scope == "ingest"
    token_revoke(token=token)
    assert token_authenticate(raw) is None
    assert token_authenticate(raw + "x") is None
