"""The evaluation as a whole: replacement, records, query counts, failures, the week lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertRule, CoFiring, Episode, Evaluation, RuleFlag, RuleWeek
from alerts.noise import evaluation as evaluation_module
from alerts.noise.evaluation import week_evaluate
from alerts.noise.locking import AlreadyEvaluated, EvaluationBusy
from alerts.signals import evaluation_finished
from fleet.models import Team
from tests.alerts.noise.conftest import AFTER_WEEK, MONDAY, WEEK, at, episode

pytestmark = pytest.mark.django_db


def _fleet(rules: int) -> None:
    """`rules` rules firing 3 times in the week, in pairs that co-fire (and never with another
    pair: starts are 6 minutes apart, shifted by 3003 minutes), some owned, some paging."""
    teams = [
        Team.objects.create(slug=f"t{i}", name=f"T{i}", timezone=zone)
        for i, zone in enumerate(["Europe/Berlin", "America/Los_Angeles", "UTC"])
    ]
    created = AlertRule.objects.bulk_create(
        AlertRule(
            alertname=f"R{i:05d}",
            severity="page" if i % 3 == 0 else "warning",
            owner_team=teams[i % 3] if i % 4 else None,
        )
        for i in range(rules)
    )
    Episode.objects.bulk_create(
        Episode(
            rule=rule,
            fingerprint=f"f{rule.pk}-{n}",
            starts_at=MONDAY + timedelta(minutes=(i // 2) * 6 + n * 3003, seconds=i % 2),
            ends_at=None if n == 2 else MONDAY + timedelta(minutes=(i // 2) * 6 + n * 3003 + 3),
            source="prometheus",
        )
        for i, rule in enumerate(created)
        for n in range(3)
    )


def _count_queries(rules: int) -> int:
    _fleet(rules)
    with CaptureQueriesContext(connection) as queries:
        week_evaluate(week=WEEK, now=AFTER_WEEK)
    assert RuleWeek.objects.filter(week=WEEK).count() == rules
    assert CoFiring.objects.filter(week=WEEK).count() == rules  # each pair, both ways
    return len(queries)


def test_query_count_does_not_grow_with_rules() -> None:
    small = _count_queries(10)
    AlertRule.objects.all().delete()
    Team.objects.all().delete()
    assert _count_queries(1000) == small
    assert small <= 20


def test_rerun_replaces_the_week_atomically(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    for i in range(25):
        episode(rule, at(1, i % 24, i), seconds=60)
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    assert RuleFlag.objects.filter(rule=rule, week=WEEK, flag="noisy").exists()
    Episode.objects.filter(rule=rule).exclude(pk__in=Episode.objects.all()[:3]).delete()
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 3
    assert not RuleFlag.objects.filter(rule=rule, week=WEEK, flag="noisy").exists()
    assert RuleWeek.objects.filter(week=WEEK).count() == 1
    assert list(Evaluation.objects.values_list("status", flat=True)) == ["done", "done"]


def test_evaluation_is_recorded_and_signalled(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    episode(rule, at(1), seconds=60)
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    evaluation_finished.connect(receiver)
    try:
        evaluation = week_evaluate(week=WEEK, now=AFTER_WEEK)
    finally:
        evaluation_finished.disconnect(receiver)
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.DONE
    assert evaluation.rules_evaluated == 1
    assert evaluation.flags_raised == RuleFlag.objects.filter(week=WEEK).count() == 2
    assert evaluation.started_at is not None and evaluation.finished_at is not None
    assert received[0]["evaluation"] == evaluation
    assert received[0]["duration_seconds"] >= 0


def test_a_failed_evaluation_keeps_the_previous_results(
    make_rule: Callable[..., AlertRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = make_rule()
    episode(rule, at(1), seconds=60)
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    episode(rule, at(2), seconds=60)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(evaluation_module, "insert_rows", broken)
    with pytest.raises(RuntimeError):
        week_evaluate(week=WEEK, now=AFTER_WEEK)
    failed = Evaluation.objects.order_by("-id").first()
    assert failed is not None
    assert failed.status == Evaluation.Status.FAILED
    assert failed.error == "RuntimeError: disk full"
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 1  # rolled back, old row kept


def test_a_scheduled_trigger_evaluates_its_week_once(
    make_rule: Callable[..., AlertRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = make_rule()
    episode(rule, at(1), seconds=60)
    week_evaluate(week=WEEK, now=AFTER_WEEK, trigger="weekly")
    with pytest.raises(AlreadyEvaluated, match="weekly"):
        week_evaluate(week=WEEK, now=AFTER_WEEK, trigger="weekly")
    # Another week, another tick, or a change (no trigger) are other requests.
    week_evaluate(week="2026-W46", now=AFTER_WEEK, trigger="weekly")
    week_evaluate(week=WEEK, now=AFTER_WEEK, trigger="hourly@2026-11-20T10:00Z")
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    triggers = Evaluation.objects.filter(week=WEEK).values_list("trigger", flat=True)
    assert sorted(triggers) == ["", "", "hourly@2026-11-20T10:00Z", "weekly"]


def test_a_failed_run_gives_its_trigger_back_for_the_retry(
    make_rule: Callable[..., AlertRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    episode(make_rule(), at(1), seconds=60)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(evaluation_module, "insert_rows", broken)
        with pytest.raises(RuntimeError):
            week_evaluate(week=WEEK, now=AFTER_WEEK, trigger="weekly")
    assert week_evaluate(week=WEEK, now=AFTER_WEEK, trigger="weekly").status == "done"
    statuses = Evaluation.objects.filter(trigger="weekly").values_list("status", flat=True)
    assert sorted(statuses) == ["done", "failed"]


def test_the_database_refuses_a_second_claim_of_a_trigger() -> None:
    """The constraint holds without the service's check: two processes that both passed it
    cannot both record a run of the same tick."""
    Evaluation.objects.create(week=WEEK, trigger="weekly", status=Evaluation.Status.DONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.create(week=WEEK, trigger="weekly", status=Evaluation.Status.RUNNING)
    Evaluation.objects.create(week=WEEK, trigger="weekly", status=Evaluation.Status.FAILED)
    Evaluation.objects.create(week=WEEK, trigger="", status=Evaluation.Status.DONE)
    Evaluation.objects.create(week=WEEK, trigger="", status=Evaluation.Status.DONE)


def test_abandoned_running_evaluations_are_marked_failed() -> None:
    stale = Evaluation.objects.create(week=WEEK, status=Evaluation.Status.RUNNING)
    other_week = Evaluation.objects.create(week="2026-W46", status=Evaluation.Status.RUNNING)
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    stale.refresh_from_db()
    other_week.refresh_from_db()
    assert stale.status == Evaluation.Status.FAILED
    assert "Abandoned" in stale.error
    assert other_week.status == Evaluation.Status.RUNNING


@pytest.mark.parametrize("week", ["2026-47", "2026-W54", "W47", ""])
def test_a_malformed_week_is_refused(week: str) -> None:
    with pytest.raises(ValueError, match="week"):
        week_evaluate(week=week)
    assert not Evaluation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_of_one_week_never_overlap(require_postgres: None) -> None:
    import psycopg

    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [0x5E7A, 202647])
        with pytest.raises(EvaluationBusy):
            week_evaluate(week=WEEK, now=AFTER_WEEK)
        week_evaluate(week="2026-W46", now=AFTER_WEEK)  # another week is free
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [0x5E7A, 202647])
        assert week_evaluate(week=WEEK, now=AFTER_WEEK).status == Evaluation.Status.DONE
    finally:
        other.close()
