"""Retention on both lanes: batched trimming of bodies, deliveries, episodes and feedback."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from alerts import tasks
from alerts.models import (
    AlertRule,
    Delivery,
    Engagement,
    Episode,
    Feedback,
    RuleFlag,
    RuleWeek,
)
from alerts.retention.services import RetentionPolicy, retention_apply
from tests.support.clock import NOW

pytestmark = pytest.mark.django_db

POLICY = RetentionPolicy(
    body_days=30, deliveries_days=90, episodes_days=400, feedback_days=400, batch_size=1000
)
_fingerprints = itertools.count(1)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def rule(db: None) -> AlertRule:
    return AlertRule.objects.create(alertname="DiskFull")


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user("oncall")


def delivery(age_days: float, body: str = '{"alerts": []}') -> Delivery:
    return Delivery.objects.create(
        source="alertmanager", received_at=days_ago(age_days), body=body, outcome="accepted"
    )


def episode(rule: AlertRule, age_days: float, first: Delivery | None = None) -> Episode:
    start = days_ago(age_days)
    return Episode.objects.create(
        rule=rule,
        fingerprint=f"r{next(_fingerprints):08d}",
        starts_at=start,
        ends_at=start + timedelta(minutes=5),
        source="alertmanager",
        first_delivery=first,
    )


def test_bodies_are_blanked_after_30_days_and_the_delivery_row_stays() -> None:
    old = delivery(31)
    recent = delivery(29)
    report = retention_apply(now=NOW, policy=POLICY)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.body == ""
    assert old.outcome == "accepted"  # the row and its counts stay
    assert recent.body == '{"alerts": []}'
    assert report.bodies_blanked == 1
    assert report.deliveries_deleted == 0


def test_deliveries_past_retention_are_deleted_and_episodes_unlinked(rule: AlertRule) -> None:
    old = delivery(91)
    kept = delivery(89)
    linked = episode(rule, 91, first=old)
    report = retention_apply(now=NOW, policy=POLICY)
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert Delivery.objects.filter(pk=kept.pk).exists()
    linked.refresh_from_db()
    assert linked.first_delivery_id is None  # the ORM's SET_NULL, done by retention
    assert report.deliveries_deleted == 1


def test_episodes_past_retention_go_with_their_engagement_and_feedback(
    rule: AlertRule, user: User
) -> None:
    old = episode(rule, 401)
    kept = episode(rule, 399)
    for target in (old, kept):
        Engagement.objects.create(episode=target, user=user, kind="runbook_view", at=NOW)
        Feedback.objects.create(episode=target, user=user, actionable=True)
    RuleWeek.objects.create(rule=rule, week="2025-W50", fires=12)
    RuleFlag.objects.create(rule=rule, week="2025-W50", flag="noisy", message="12 fires")

    report = retention_apply(now=NOW, policy=POLICY)

    assert list(Episode.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(Engagement.objects.values_list("episode_id", flat=True)) == [kept.pk]
    assert list(Feedback.objects.values_list("episode_id", flat=True)) == [kept.pk]
    # The review's and scorecards' statistics outlive the episodes they were computed from.
    assert RuleWeek.objects.get(rule=rule, week="2025-W50").fires == 12
    assert RuleFlag.objects.filter(rule=rule, week="2025-W50").count() == 1
    assert (report.episodes_deleted, report.engagements_deleted, report.feedback_deleted) == (
        1,
        1,
        1,
    )


def test_feedback_kept_shorter_than_episodes_is_trimmed_on_its_own(
    rule: AlertRule, user: User
) -> None:
    target = episode(rule, 100)
    Feedback.objects.create(episode=target, user=user, actionable=False, created_at=days_ago(61))
    Engagement.objects.create(episode=target, user=user, kind="feedback", at=days_ago(59))
    policy = RetentionPolicy(30, 90, 400, 60, 1000)
    retention_apply(now=NOW, policy=policy)
    assert Episode.objects.filter(pk=target.pk).exists()
    assert not Feedback.objects.exists()
    assert Engagement.objects.count() == 1


def test_dry_run_changes_nothing_and_counts_what_a_run_trims(rule: AlertRule, user: User) -> None:
    first = delivery(95)
    delivery(40)
    old = episode(rule, 410, first=first)
    episode(rule, 10)
    Feedback.objects.create(episode=old, user=user, actionable=True)
    before = {m.__name__: m.objects.count() for m in (Delivery, Episode, Engagement, Feedback)}

    dry = retention_apply(now=NOW, policy=POLICY, dry_run=True)

    after = {m.__name__: m.objects.count() for m in (Delivery, Episode, Engagement, Feedback)}
    assert after == before
    assert Delivery.objects.exclude(body="").count() == 2
    assert (dry.bodies_blanked, dry.deliveries_deleted) == (1, 1)
    assert (dry.episodes_deleted, dry.feedback_deleted) == (1, 1)
    real = retention_apply(now=NOW, policy=POLICY)
    assert (real.bodies_blanked, real.deliveries_deleted) == (1, 1)
    assert (real.episodes_deleted, real.feedback_deleted) == (1, 1)


def test_trimming_runs_in_batches_and_a_second_run_finds_nothing(rule: AlertRule) -> None:
    for _ in range(5):
        episode(rule, 500)
    keep = episode(rule, 1)
    policy = RetentionPolicy(30, 90, 400, 400, batch_size=2)
    table = connection.ops.quote_name(Episode._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        report = retention_apply(now=NOW, policy=policy)
    prefix = "DELETE FROM " + table  # noqa: S608 (a prefix to look for, not a query)
    deletes = [q["sql"] for q in queries if q["sql"].startswith(prefix)]
    assert len(deletes) == 3  # 2 + 2 + 1 rows, one short transaction each
    assert report.episodes_deleted == 5
    assert list(Episode.objects.values_list("pk", flat=True)) == [keep.pk]
    again = retention_apply(now=NOW, policy=policy)
    assert (again.episodes_deleted, again.bodies_blanked, again.deliveries_deleted) == (0, 0, 0)


def test_a_batch_boundary_inside_equal_timestamps_blanks_every_body() -> None:
    for _ in range(5):
        delivery(45)  # same received_at: the walk must page by (received_at, id)
    retention_apply(now=NOW, policy=RetentionPolicy(30, 90, 400, 400, batch_size=2))
    assert not Delivery.objects.exclude(body="").exists()


def test_zero_days_keeps_forever(rule: AlertRule) -> None:
    episode(rule, 5000)
    delivery(5000)
    retention_apply(now=NOW, policy=RetentionPolicy(0, 0, 0, 0, 100))
    assert Episode.objects.count() == 1
    assert Delivery.objects.exclude(body="").count() == 1


def test_nothing_kept_points_at_trimmed_rows_with_a_cascade_or_protect() -> None:
    """Only these relations point at what retention trims, and retention handles each."""
    trimmed = {Delivery, Episode, Engagement, Feedback}
    handled = {
        ("Engagement", "episode"),
        ("Feedback", "episode"),
        ("Episode", "first_delivery"),
        ("ActionRun", "episode"),
        # The automation audit log keeps a plain id (DO_NOTHING, no constraint): it outlives it.
        ("AutomationEvent", "episode"),
    }
    found = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey | models.OneToOneField) and (
                field.related_model in trimmed
            ):
                found.add((model.__name__, field.name))
                assert field.remote_field.on_delete is not models.PROTECT
    assert found == handled


def test_the_beat_task_applies_the_settings(rule: AlertRule, frozen_now: datetime) -> None:
    episode(rule, settings.STEWARD_RETAIN_EPISODES_DAYS + 30)
    kept = episode(rule, 1)
    tasks.retention_apply()
    assert list(Episode.objects.values_list("pk", flat=True)) == [kept.pk]
    assert settings.CELERY_BEAT_SCHEDULE["retention-apply"]["task"] == "alerts.retention_apply"


def test_the_command_prints_a_dry_run(rule: AlertRule, frozen_now: datetime) -> None:
    episode(rule, settings.STEWARD_RETAIN_EPISODES_DAYS + 30)
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "episodes deleted (would): 1" in out.getvalue()
    assert Episode.objects.count() == 1


def test_a_run_past_its_deadline_stops_between_batches_and_the_next_one_continues(
    rule: AlertRule,
) -> None:
    for _ in range(6):
        episode(rule, 500)
    policy = RetentionPolicy(30, 90, 400, 400, batch_size=2, rest_ratio=0)
    stopped = retention_apply(now=NOW, policy=policy, seconds=0)
    assert not stopped.finished
    assert stopped.episodes_deleted == 2  # one batch, then the deadline
    assert Episode.objects.count() == 4
    rest = retention_apply(now=NOW, policy=policy)
    assert rest.finished
    assert not Episode.objects.exists()
