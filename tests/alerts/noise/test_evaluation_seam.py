"""The evaluation's write step is observable without test code in production modules."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from alerts.models import AlertRule, RuleWeek
from alerts.noise.evaluation import week_evaluate
from alerts.signals import evaluation_writing
from tests.alerts.noise.conftest import WEEK, at, episode

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = ["alerts", "fleet", "runbooks", "ops", "config", "deploy"]


@pytest.mark.django_db
def test_evaluation_writing_is_sent_inside_the_write_transaction() -> None:
    rule = AlertRule.objects.create(alertname="Rule1")
    episode(rule, at(1), seconds=60)
    week_evaluate(week=WEEK)
    seen: list[tuple[str, bool, int]] = []

    def receiver(sender: Any, week: str, **kwargs: Any) -> None:
        rows = RuleWeek.objects.filter(week=week).count()
        seen.append((week, connection.in_atomic_block, rows))

    evaluation_writing.connect(receiver)
    try:
        week_evaluate(week=WEEK)
    finally:
        evaluation_writing.disconnect(receiver)
    # Inside the transaction, with the old rows deleted and the new ones not yet written.
    assert seen == [(WEEK, True, 0)]
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 1


def test_no_test_only_hook_in_production_code() -> None:
    found = subprocess.run(  # noqa: S603
        ["git", "grep", "-n", "STEWARD_TEST_", "--", *PRODUCTION, ":!config/settings_test.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert found == ""
