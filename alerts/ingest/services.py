"""The ingest core: one delivery in, episodes opened, updated or closed, in ONE transaction.

Every source (Alertmanager, Grafana, Datadog, WhyLabs, Evidently, generic JSON) normalises its
payload into `AlertEvent`s; `delivery_ingest` stores them with a constant number of set-based
statements, whatever the number of alerts:

- the rule candidates of the alertnames and the ids of the AI systems named by `system`/`model`
  labels come from this process's memory (`alerts.ingest.catalog_cache`: forgotten at once on
  a change in this process, within 10 s in the others); an alertname with no matching rule is
  read again and, if still unknown, gets an uncatalogued, unowned catch-all rule (INSERT … ON
  CONFLICT DO NOTHING and a SELECT, in the delivery's transaction);
- on PostgreSQL ONE statement then does the rest (`alerts.ingest.upsert.delivery_write`): it
  reads the episodes that exist for the (fingerprint, starts_at) pairs, inserts the delivery
  row with what the delivery does to them, upserts all episodes (INSERT … ON CONFLICT DO
  UPDATE) and moves the rules' `last_fired_at` forward. Alone, it is its own transaction: no
  BEGIN/COMMIT round trips. A delivery that needs more (a rule to create) runs in an explicit
  transaction;
- on SQLite, in one transaction: a SELECT of the existing episodes, one raw INSERT of the
  delivery row, one INSERT … ON CONFLICT of all episodes, and one UPDATE of `last_fired_at`
  per rule whose latest firing moved (usually none or one).

The counts (opened, updated, closed, duplicates) and the ISO weeks changed come from
`_classify` over the episodes that existed before; the PostgreSQL statement counts the same way
for the delivery row (a test checks the row against the answer for every kind of delivery).

Rules of behaviour (README "Alertmanager"):
- a re-sent notification only bumps `notification_count` and `last_notified_at`;
- `ends_at` only ever moves from null to a time: a firing that arrives after its resolve (same
  fingerprint and startsAt) never reopens the episode, and of two different resolve times the
  EARLIEST is kept (the first moment the sender saw the alert resolved);
- a resolve that arrives first creates the episode already closed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from alerts.ingest.catalog_cache import (
    cached_rule_candidates,
    cached_system_ids,
    catalog_forget,
)
from alerts.ingest.upsert import bound_cursor, chunks, delivery_write, episodes_upsert
from alerts.integrations.payload import PayloadError
from alerts.models import AlertRule, Delivery, Episode
from alerts.selectors import rule_resolve
from alerts.signals import episodes_changed
from core.choices import Severity
from core.weeks import week_of
from tokens.models import ApiToken

_GENERATOR_URL_MAX = 2000
_EPISODE_TABLE = Episode._meta.db_table
_RULE_TABLE = AlertRule._meta.db_table
_FIRED_FIELD = AlertRule._meta.get_field("last_fired_at")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert instance as a source reported it, normalised."""

    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None  # None while firing
    generator_url: str = ""
    # True when the source does not know when the alert started (Datadog, generic without
    # startsAt): a firing joins the open episode of the fingerprint if there is one, a resolve
    # closes it (and is ignored when nothing is open).
    attach_to_open: bool = False

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(slots=True)
class Batch:
    """A normalised delivery."""

    source: str
    alerts: list[AlertEvent]
    truncated: int = 0
    group_key: str = ""
    # Layer given to rules created uncatalogued from this batch (`ml` for drift monitors).
    layer: str = ""


@dataclass(slots=True)
class IngestResult:
    delivery: Delivery
    alerts: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    duplicates: int = 0
    weeks: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok",
            "delivery": self.delivery.pk,
            "alerts": self.alerts,
            "opened": self.opened,
            "updated": self.updated,
            "closed": self.closed,
            "duplicates": self.duplicates,
            "truncated": self.delivery.truncated_alerts,
        }


def delivery_ingest(
    *,
    batch: Batch,
    body: str,
    content_type: str = "",
    token: ApiToken | None = None,
) -> IngestResult:
    """Store the delivery and its episodes atomically; see the module docstring."""
    _check_fits(batch.alerts)
    try:
        return _store(batch, body, content_type, token)
    except IntegrityError:
        # A rule or AI system remembered by this process was deleted by another one (the
        # episodes' foreign keys refuse it): nothing was stored. Forget, and store once more,
        # unless the caller's own transaction is spoiled by the error.
        if connection.in_atomic_block:
            raise
        catalog_forget()
        return _store(batch, body, content_type, token)


def _store(batch: Batch, body: str, content_type: str, token: ApiToken | None) -> IngestResult:
    now = timezone.now()
    events = _merge_duplicates(_attach_to_open(batch.alerts))
    candidates, read_now = cached_rule_candidates(event.alertname for event in events)
    rules, missing = _rules_resolve(events, candidates)
    # PostgreSQL, rules all known: everything is written by one statement, which is one
    # transaction of its own. Otherwise (a rule to create, SQLite's several statements) an
    # explicit one.
    lone = connection.vendor == "postgresql" and not missing
    with nullcontext() if lone else transaction.atomic():
        if missing:
            rules = _rules_complete(events, batch, rules, missing - read_now)
        systems = cached_system_ids(_system_slug(event.labels) for event in events)
        delivery = Delivery(
            source=batch.source,
            integration_id=token.integration_id if token is not None else None,
            token=token,
            received_at=now,
            body=body,
            content_type=content_type[:200],
            outcome=Delivery.Outcome.ACCEPTED,
            group_key=batch.group_key[:1000],
            alerts_count=len(batch.alerts),
            truncated_alerts=batch.truncated,
        )
        if connection.vendor == "postgresql":
            result = _write_one_statement(events, rules, systems, batch, delivery, now)
        else:
            result = _write_statements(events, rules, systems, batch, delivery, now)
        result.alerts = len(batch.alerts)
        if result.weeks:
            weeks = sorted(result.weeks)
            # The episodes this delivery opened are those whose first delivery it is.
            opened_by = delivery.pk if result.opened else None
            # robust: the delivery is committed by then; derived work that fails (a receiver
            # raising) is logged and must never turn the answer into a 5xx.
            transaction.on_commit(
                lambda: episodes_changed.send(sender=Episode, weeks=weeks, opened_by=opened_by),
                robust=True,
            )
    return result


def _write_one_statement(
    events: Sequence[AlertEvent],
    rules: dict[tuple[str, datetime], AlertRule],
    systems: dict[str, int],
    batch: Batch,
    delivery: Delivery,
    now: datetime,
) -> IngestResult:
    """PostgreSQL: `delivery_write` stores the delivery with its counts, the episodes and the
    rules' `last_fired_at` in one statement, and returns the episodes that existed before."""
    rows = [
        _row(event, rules[event.fingerprint, event.starts_at], systems, batch, None, now)
        for event in events
    ]
    touches = _rules_to_touch(events, rules)
    written = delivery_write(delivery, rows, [(r.pk, at) for r, at in touches])
    _remember_touched(touches)
    result = _classify(events, written.existing)
    delivery.pk = written.delivery_id
    _counts_set(delivery, result)  # as the statement stored them
    delivery._state.adding = False
    delivery._state.db = connection.alias
    result.delivery = delivery
    return result


def _write_statements(
    events: Sequence[AlertEvent],
    rules: dict[tuple[str, datetime], AlertRule],
    systems: dict[str, int],
    batch: Batch,
    delivery: Delivery,
    now: datetime,
) -> IngestResult:
    """SQLite (inside the caller's transaction): read the existing episodes, insert the
    delivery with its counts, upsert the episodes, move the rules' `last_fired_at`."""
    result = _classify(events, _existing(events))
    _counts_set(delivery, result)
    _delivery_insert(delivery)
    result.delivery = delivery
    episodes_upsert(
        [
            _row(event, rules[event.fingerprint, event.starts_at], systems, batch, delivery, now)
            for event in events
        ]
    )
    touches = _rules_to_touch(events, rules)
    _touch_rules(touches)
    _remember_touched(touches)
    return result


def _counts_set(delivery: Delivery, result: IngestResult) -> None:
    delivery.opened_count, delivery.updated_count = result.opened, result.updated
    delivery.closed_count, delivery.duplicate_count = result.closed, result.duplicates


@functools.cache
def _delivery_statement(vendor: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """INSERT … RETURNING id of a Delivery, built once per backend from the model's fields."""
    qn = connection.ops.quote_name
    fields = tuple(f for f in Delivery._meta.concrete_fields if not f.primary_key)
    sql = (
        f"INSERT INTO {qn(Delivery._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(Delivery._meta.pk.column)}"
    )
    return sql, fields


def _delivery_insert(delivery: Delivery) -> None:
    """Save a new Delivery with one raw INSERT: it runs on every delivery, and the ORM's save
    (compilation, signals nobody listens to for deliveries) cost more than the statement."""
    sql, fields = _delivery_statement(connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(delivery, add=True), connection) for f in fields]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        delivery.pk = cursor.fetchone()[0]
    delivery._state.adding = False
    delivery._state.db = connection.alias


def delivery_reject(
    *,
    source: str,
    body: str,
    error: str,
    content_type: str = "",
    token: ApiToken | None = None,
) -> Delivery:
    """Log a delivery that can never succeed, in its own transaction, with no episode.

    A refused body may hold raw NUL bytes, which PostgreSQL cannot store: they are logged as
    U+FFFD, as undecodable bytes already are.
    """
    with transaction.atomic():
        return Delivery.objects.create(
            source=source,
            integration_id=token.integration_id if token is not None else None,
            token=token,
            body=body.replace("\x00", "\ufffd"),
            content_type=content_type[:200].replace("\x00", "\ufffd"),
            outcome=Delivery.Outcome.REJECTED,
            error=error.replace("\x00", "\ufffd"),
        )


def _check_fits(events: Iterable[AlertEvent]) -> None:
    """Refuse what the catalog cannot hold (SQLite would not enforce the column length)."""
    limit = AlertRule._meta.get_field("alertname").max_length or 200
    for event in events:
        if len(event.alertname) > limit:
            raise PayloadError(f"alertname is longer than {limit} characters: {event.alertname!r}")


def _attach_to_open(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """Give events of sources without a start time the start of the fingerprint's open episode."""
    loose = {event.fingerprint for event in events if event.attach_to_open}
    if not loose:
        return list(events)
    open_starts: dict[str, datetime] = {}
    for fp, starts_at in (
        Episode.objects.filter(fingerprint__in=loose, ends_at__isnull=True)
        .order_by("starts_at")
        .values_list("fingerprint", "starts_at")
    ):
        open_starts[fp] = starts_at  # the latest open episode wins
    attached: list[AlertEvent] = []
    for event in events:
        if not event.attach_to_open:
            attached.append(event)
            continue
        start = open_starts.get(event.fingerprint)
        if start is None:
            if event.ends_at is None:
                attached.append(event)
            # A resolve for nothing open: there is no start to give it; ignore it.
            continue
        ends_at = None if event.ends_at is None else max(event.ends_at, start)
        attached.append(dataclasses.replace(event, starts_at=start, ends_at=ends_at))
    return attached


def _merge_duplicates(events: Iterable[AlertEvent]) -> list[AlertEvent]:
    """One event per (fingerprint, starts_at), sorted so that concurrent upserts lock rows in
    the same order (no deadlock), keeping the earliest resolve time."""
    merged: dict[tuple[str, datetime], AlertEvent] = {}
    for event in events:
        key = (event.fingerprint, event.starts_at)
        previous = merged.get(key)
        if previous is not None:
            event = dataclasses.replace(
                event, ends_at=_earliest_end(previous.ends_at, event.ends_at)
            )
        merged[key] = event
    return [merged[key] for key in sorted(merged)]


def _earliest_end(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


Resolved = dict[tuple[str, datetime], AlertRule]


def _rules_resolve(
    events: Sequence[AlertEvent], candidates: dict[str, list[AlertRule]]
) -> tuple[Resolved, set[str]]:
    """The catalog rule of every event whose alertname has a matching rule, and the
    alertnames of the others."""
    resolved: Resolved = {}
    missing: set[str] = set()
    for event in events:
        rule = rule_resolve(candidates.get(event.alertname, ()), event.labels)
        if rule is None:
            missing.add(event.alertname)
        else:
            resolved[event.fingerprint, event.starts_at] = rule
    return resolved, missing


def _rules_complete(
    events: Sequence[AlertEvent], batch: Batch, resolved: Resolved, remembered: set[str]
) -> Resolved:
    """Rules for the events `_rules_resolve` left out: read again from the database when their
    alertname's rules came from this process's memory (another process may have created one
    since), else created uncatalogued (a catch-all rule)."""
    fresh, _ = cached_rule_candidates(remembered, fresh=True) if remembered else ({}, set())
    late, still_missing = _rules_resolve(
        [e for e in events if (e.fingerprint, e.starts_at) not in resolved], fresh
    )
    resolved = {**resolved, **late}
    if still_missing:
        first: dict[str, AlertEvent] = {}
        for event in events:
            if event.alertname in still_missing:
                first.setdefault(event.alertname, event)
        created = _rules_create_uncatalogued(first.values(), batch)
        # This process remembered these alertnames without the rules just created.
        transaction.on_commit(catalog_forget, robust=True)
        for event in events:
            if (event.fingerprint, event.starts_at) not in resolved:
                resolved[event.fingerprint, event.starts_at] = created[event.alertname]
    return resolved


def _rules_create_uncatalogued(events: Iterable[AlertEvent], batch: Batch) -> dict[str, AlertRule]:
    new_rules = []
    for event in events:
        severity = event.labels.get("severity", "")
        new_rules.append(
            AlertRule(
                alertname=event.alertname,
                matchers={},
                matchers_key="",
                catalogued=False,
                source=batch.source,
                layer=batch.layer,
                severity=severity if severity in Severity.values else "",
                summary=event.annotations.get("summary", "")[:500],
            )
        )
    # Two deliveries may discover the same alertname at once: the loser's insert is a no-op
    # and both read the winner's row.
    AlertRule.objects.bulk_create(new_rules, ignore_conflicts=True)
    names = [rule.alertname for rule in new_rules]
    return {
        rule.alertname: rule
        for rule in AlertRule.objects.filter(alertname__in=names, matchers_key="")
    }


def _system_slug(labels: dict[str, str]) -> str:
    return labels.get("system") or labels.get("model") or ""


def _existing(events: Sequence[AlertEvent]) -> dict[tuple[str, datetime], datetime | None]:
    """ends_at of the episodes that already exist for these events, by (fingerprint, start).

    A raw SELECT through `Episode.objects.raw` (which still converts the datetimes the way
    each database needs) instead of a compiled queryset: it runs on every delivery."""
    starts_field = Episode._meta.get_field("starts_at")
    found: dict[tuple[str, datetime], datetime | None] = {}
    for chunk in chunks(events):
        fingerprints = sorted({event.fingerprint for event in chunk})
        starts = sorted({event.starts_at for event in chunk})
        sql = (
            f"SELECT id, fingerprint, starts_at, ends_at FROM {_EPISODE_TABLE} "  # noqa: S608
            f"WHERE fingerprint IN ({', '.join(['%s'] * len(fingerprints))}) "
            f"AND starts_at IN ({', '.join(['%s'] * len(starts))})"
        )
        params = [*fingerprints, *(starts_field.get_db_prep_value(s, connection) for s in starts)]
        if connection.vendor == "postgresql":
            # psycopg returns aware datetimes itself: no model instances to build per row.
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                for _id, fingerprint, starts_at, ends_at in cursor.fetchall():
                    found[fingerprint, starts_at] = ends_at
            continue
        for episode in Episode.objects.raw(sql, params):
            found[episode.fingerprint, episode.starts_at] = episode.ends_at
    return found


def _classify(
    events: Sequence[AlertEvent], existing: dict[tuple[str, datetime], datetime | None]
) -> IngestResult:
    """Count what the delivery does, and which ISO weeks it changes.

    `opened`: episodes created (a resolve that arrives first opens and closes one, so it counts
    in `opened` and `closed`); `closed`: episodes that got their end; `updated`: closed episodes
    whose end moved earlier; `duplicates`: re-sends that changed nothing but the counters.
    Under a race between identical deliveries both may report `opened`; the stored data is
    still one episode, which the upsert guarantees."""
    result = IngestResult(delivery=Delivery())
    for event in events:
        key = (event.fingerprint, event.starts_at)
        if key not in existing:
            result.opened += 1
            result.weeks.add(week_of(event.starts_at))
            if event.ends_at is not None:
                result.closed += 1
                result.weeks.add(week_of(event.ends_at))
            continue
        ends_at = existing[key]
        if ends_at is None and event.ends_at is not None:
            result.closed += 1
            result.weeks.update((week_of(event.starts_at), week_of(event.ends_at)))
        elif ends_at is not None and event.ends_at is not None and event.ends_at < ends_at:
            result.updated += 1  # an earlier resolve time replaces a later one
            result.weeks.update((week_of(event.starts_at), week_of(event.ends_at)))
        else:
            result.duplicates += 1
    return result


def _row(
    event: AlertEvent,
    rule: AlertRule,
    systems: dict[str, int],
    batch: Batch,
    delivery: Delivery | None,
    now: datetime,
) -> dict[str, object]:
    return {
        "rule_id": rule.pk,
        "fingerprint": event.fingerprint,
        "labels": event.labels,
        "annotations": event.annotations,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "source": batch.source,
        "system_id": systems.get(_system_slug(event.labels), rule.system_id),
        "generator_url": event.generator_url[:_GENERATOR_URL_MAX],
        "first_delivery_id": delivery.pk if delivery is not None else None,
        "last_notified_at": now,
        "notification_count": 1,
        "created_at": now,
        "updated_at": now,
    }


def _rules_to_touch(
    events: Sequence[AlertEvent], rules: Resolved
) -> list[tuple[AlertRule, datetime]]:
    """Each rule whose last_fired_at this delivery may move forward, with its latest start, in
    primary-key order (concurrent deliveries lock rules in the same order).

    The remembered rules' `last_fired_at` is only ever behind the database (it moves in memory
    after the commit, `_remember_touched`), so a rule left out here has nothing to move; a rule
    kept in only because another process moved it already costs a no-op."""
    latest: dict[int, tuple[AlertRule, datetime]] = {}
    for event in events:
        rule = rules[event.fingerprint, event.starts_at]
        known = latest.get(rule.pk)
        if known is None or event.starts_at > known[1]:
            latest[rule.pk] = (rule, event.starts_at)
    return [
        (rule, starts_at)
        for _pk, (rule, starts_at) in sorted(latest.items())
        if rule.last_fired_at is None or rule.last_fired_at < starts_at
    ]


def _remember_touched(touches: Sequence[tuple[AlertRule, datetime]]) -> None:
    def remember() -> None:
        for rule, starts_at in touches:
            if rule.last_fired_at is None or rule.last_fired_at < starts_at:
                rule.last_fired_at = starts_at

    if touches:
        transaction.on_commit(remember)


def _touch_rules(touches: Sequence[tuple[AlertRule, datetime]]) -> None:
    """Move each rule's last_fired_at to its latest start, never backwards."""
    for rule, starts_at in touches:
        fired = _FIRED_FIELD.get_db_prep_value(starts_at, connection)
        # Raw SQL: the ORM's UPDATE compilation cost more than the statement, on most deliveries.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_RULE_TABLE} SET last_fired_at = %s "  # noqa: S608
                "WHERE id = %s AND (last_fired_at IS NULL OR last_fired_at < %s)",
                [fired, rule.pk, fired],
            )
