"""PostgreSQL: episodes and deliveries are partitioned by month; retention drops whole months."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from alerts.ingest.upsert import episodes_upsert
from alerts.models import AlertRule, Delivery, Engagement, Episode, Feedback, RuleWeek
from alerts.retention import partitions as parts
from alerts.retention.services import RetentionPolicy, retention_apply
from tests.support.clock import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def rule(db: None) -> AlertRule:
    return AlertRule.objects.create(alertname="GPUHot")


def partition_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def row(rule: AlertRule, fingerprint: str, starts_at: datetime) -> dict[str, object]:
    now = timezone.now()
    return {
        "rule_id": rule.pk,
        "fingerprint": fingerprint,
        "labels": {"alertname": rule.alertname},
        "annotations": {},
        "starts_at": starts_at,
        "ends_at": None,
        "source": "alertmanager",
        "system_id": None,
        "generator_url": "",
        "first_delivery_id": None,
        "last_notified_at": now,
        "notification_count": 1,
        "created_at": now,
        "updated_at": now,
    }


def test_the_migration_partitions_both_tables_by_month_with_months_ahead() -> None:
    this_month = parts.month_start(timezone.now())
    for table, column in parts.PARTITIONED.items():
        assert parts.is_partitioned(table)
        names = {p.name for p in parts.partitions(table)}
        for offset in range(parts.AHEAD_MONTHS + 1):
            assert parts.partition_name(table, parts.add_months(this_month, offset)) in names
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%s) AND contype = 'p'",
                [table],
            )
            assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {column})"
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [parts.default_partition(table)])
            assert cursor.fetchone()[0]


def test_upsert_stays_idempotent_across_a_partition_boundary(rule: AlertRule) -> None:
    parts.ensure_partitions(datetime(2027, 1, 10, tzinfo=UTC), ahead=1)
    january = datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)
    february = datetime(2027, 2, 1, tzinfo=UTC)
    rows = [row(rule, "f" * 16, january), row(rule, "f" * 16, february)]
    episodes_upsert(rows)
    episodes_upsert(rows)  # a redelivered notification
    stored = list(Episode.objects.filter(fingerprint="f" * 16).order_by("starts_at"))
    assert [e.notification_count for e in stored] == [2, 2]
    assert partition_of("alerts_episode", stored[0].pk) == "alerts_episode_p202701"
    assert partition_of("alerts_episode", stored[1].pk) == "alerts_episode_p202702"
    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.create(
            rule=rule, fingerprint="f" * 16, starts_at=february, source="alertmanager"
        )


def test_a_new_partition_takes_its_rows_from_the_default_partition(rule: AlertRule) -> None:
    stray = Episode.objects.create(
        rule=rule, fingerprint="a" * 16, starts_at=datetime(2031, 6, 15, tzinfo=UTC), source="x"
    )
    assert partition_of("alerts_episode", stray.pk) == "alerts_episode_default"
    assert parts.ensure_partitions(datetime(2031, 6, 1, tzinfo=UTC), ahead=0) == [
        "alerts_episode_p203106",
        "alerts_delivery_p203106",
    ]
    assert partition_of("alerts_episode", stray.pk) == "alerts_episode_p203106"
    assert parts.ensure_partitions(datetime(2031, 6, 1, tzinfo=UTC), ahead=0) == []


def test_expired_months_are_dropped_whole_and_the_rest_trimmed_in_batches(
    rule: AlertRule, make_user: Callable[..., User]
) -> None:
    # NOW is 2027-02-17: with 400 days the cut is 2026-01-13, so October to December 2025 go
    # whole and January 2026 is trimmed row by row up to the 13th.
    parts.ensure_partitions(datetime(2025, 10, 1, tzinfo=UTC), ahead=3)
    user = make_user("oncall")
    old = [
        Episode.objects.create(
            rule=rule, fingerprint=f"o{i:03d}", starts_at=datetime(2025, 10 + i, 5, tzinfo=UTC)
        )
        for i in range(3)
    ]
    early_jan = Episode.objects.create(
        rule=rule, fingerprint="jan-early", starts_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    late_jan = Episode.objects.create(
        rule=rule, fingerprint="jan-late", starts_at=datetime(2026, 1, 20, tzinfo=UTC)
    )
    Engagement.objects.create(episode=old[0], user=user, kind="runbook_view")
    Feedback.objects.create(episode=old[1], user=user, actionable=True)
    old_delivery = Delivery.objects.create(
        source="alertmanager", received_at=datetime(2025, 11, 2, tzinfo=UTC), outcome="accepted"
    )
    late_jan.first_delivery = old_delivery
    late_jan.save()
    RuleWeek.objects.create(rule=rule, week="2025-W45", fires=3)
    policy = RetentionPolicy(30, 90, 400, 400, batch_size=10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE alerts_episode")  # dropped months are counted from statistics

    dry = retention_apply(now=NOW, policy=policy, dry_run=True)
    assert {"alerts_episode_p202510", "alerts_episode_p202512"} <= set(dry.partitions_dropped)
    assert parts.partitions("alerts_episode")[0].name == "alerts_episode_p202510"

    report = retention_apply(now=NOW, policy=policy)

    names = {p.name for p in parts.partitions("alerts_episode")}
    assert not {"alerts_episode_p202510", "alerts_episode_p202511", "alerts_episode_p202512"} & (
        names
    )
    assert "alerts_episode_p202601" in names  # partly inside retention: kept, trimmed by rows
    assert {"alerts_episode_p202510", "alerts_delivery_p202511"} <= set(report.partitions_dropped)
    assert list(Episode.objects.values_list("fingerprint", flat=True)) == ["jan-late"]
    assert not Engagement.objects.exists()
    assert not Feedback.objects.exists()
    assert report.episodes_deleted == len(old) + 1
    assert not Episode.objects.filter(pk=early_jan.pk).exists()
    late_jan.refresh_from_db()
    assert late_jan.first_delivery_id is None
    assert RuleWeek.objects.get(week="2025-W45").fires == 3
    # Partitions ahead of NOW exist now too.
    ahead = parts.partition_name("alerts_episode", parts.add_months(parts.month_start(NOW), 3))
    assert ahead in names


def test_partition_listing_ignores_tables_it_does_not_own() -> None:
    assert all(p.end - p.start >= timedelta(days=28) for p in parts.partitions("alerts_delivery"))
