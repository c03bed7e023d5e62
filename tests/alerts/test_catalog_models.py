from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import AlertRule
from fleet.models import AISystem, Team

pytestmark = pytest.mark.django_db


def test_same_alertname_with_different_matchers_is_allowed() -> None:
    AlertRule.objects.create(alertname="ModelLatencyHigh", matchers={"model": "fraud-scorer"})
    AlertRule.objects.create(alertname="ModelLatencyHigh", matchers={"model": "recommender-v7"})
    AlertRule.objects.create(alertname="ModelLatencyHigh")
    assert AlertRule.objects.filter(alertname="ModelLatencyHigh").count() == 3


def test_same_alertname_and_matchers_is_rejected_by_the_database() -> None:
    AlertRule.objects.create(alertname="X", matchers={"model": "a", "env": "prod"})
    with pytest.raises(IntegrityError), transaction.atomic():
        # Same matchers in another order: the canonical key makes them equal.
        AlertRule.objects.create(alertname="X", matchers={"env": "prod", "model": "a"})


def test_duplicate_rule_gets_a_readable_message() -> None:
    AlertRule.objects.create(alertname="X", matchers={"model": "a"})
    with pytest.raises(ValidationError) as excinfo:
        AlertRule(alertname="X", matchers={"model": "a"}).full_clean()
    assert "A rule X with matchers {model=a} already exists" in str(excinfo.value)


def test_matchers_must_be_label_equalities() -> None:
    with pytest.raises(ValidationError, match="label equalities"):
        AlertRule(alertname="X", matchers=["model"]).full_clean()
    with pytest.raises(ValidationError, match="alertname field"):
        AlertRule(alertname="X", matchers={"alertname": "Y"}).full_clean()


def test_muting_without_end_is_allowed_and_stamps_muted_at() -> None:
    rule = AlertRule(alertname="X", status=AlertRule.Status.MUTED)
    rule.full_clean()
    assert rule.muted_at is not None


def test_muted_until_in_the_past_is_an_error() -> None:
    rule = AlertRule(
        alertname="X",
        status=AlertRule.Status.MUTED,
        muted_until=timezone.now() - timedelta(hours=1),
    )
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert "in the past" in str(excinfo.value.message_dict["muted_until"])


def test_muted_until_on_an_active_rule_is_an_error() -> None:
    rule = AlertRule(alertname="X", muted_until=timezone.now() + timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        rule.full_clean()
    assert "Only a muted rule" in str(excinfo.value.message_dict["muted_until"])


def test_unmuting_clears_muted_at() -> None:
    rule = AlertRule.objects.create(alertname="X", status=AlertRule.Status.MUTED)
    assert rule.muted_at is not None
    rule.status = AlertRule.Status.ACTIVE
    rule.full_clean()
    assert rule.muted_at is None


def test_matchers_and_system_must_agree(team: Team) -> None:
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer")
    AlertRule(alertname="X", matchers={"model": "fraud-scorer"}, system=system).full_clean()
    with pytest.raises(ValidationError) as excinfo:
        AlertRule(alertname="Y", matchers={"model": "other"}, system=system).full_clean()
    assert "make them agree" in str(excinfo.value.message_dict["system"])


def test_rule_owned_by_another_team_than_its_system_is_fine(team: Team) -> None:
    other = Team.objects.create(slug="platform", name="Platform")
    system = AISystem.objects.create(slug="s", name="S", owner_team=team)
    AlertRule(alertname="X", system=system, owner_team=other).full_clean()


def test_muted_status_without_muted_at_is_impossible_in_the_database() -> None:
    rule = AlertRule.objects.create(alertname="X")
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertRule.objects.filter(pk=rule.pk).update(status="muted")
