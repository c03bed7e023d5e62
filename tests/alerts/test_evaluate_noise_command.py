from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertRule, RuleWeek
from core.weeks import week_of
from tests.alerts.noise.conftest import WEEK, at, episode
from tests.support.clock import THIS_WEEK

# Pages and commands here read the clock (this week, last 7 days, review ages): pin it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_evaluate_noise_for_one_week() -> None:
    rule = AlertRule.objects.create(alertname="Rule1")
    episode(rule, at(1), seconds=60)
    out = StringIO()
    call_command("evaluate_noise", "--week", WEEK, stdout=out)
    assert out.getvalue().startswith(f"{WEEK}: 1 rules, 2 flags")
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 1


def test_evaluate_noise_defaults_to_the_current_week() -> None:
    out = StringIO()
    call_command("evaluate_noise", stdout=out)
    assert out.getvalue().startswith(f"{THIS_WEEK}: 0 rules")


def test_evaluate_noise_all_weeks_since_the_first_episode() -> None:
    rule = AlertRule.objects.create(alertname="Rule1")
    first = datetime(2026, 1, 7, tzinfo=UTC)
    episode(rule, first, seconds=60)
    out = StringIO()
    call_command("evaluate_noise", "--all", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{week_of(first)}: 1 rules")
    assert lines[-1].startswith(THIS_WEEK)
    assert RuleWeek.objects.filter(rule=rule).count() == len(lines)


def test_evaluate_noise_refuses_a_bad_week() -> None:
    with pytest.raises(CommandError, match="has no week 60"):
        call_command("evaluate_noise", "--week", "2026-W60")
