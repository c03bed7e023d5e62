"""Writes of the silence ledger: the sync from Alertmanager, and expiring a silence."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Episode
from alerts.silences.client import (
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    SilenceData,
    SilenceListing,
    silenced_alerts,
    silences_fetch,
)
from alerts.silences.client import (
    silence_expire as client_silence_expire,
)
from alerts.silences.coverage import CatalogIndex, SilenceCoverageResult, coverage_of
from alerts.silences.matchers import Matcher, matchers_to_api, silence_matches
from alerts.silences.models import (
    Silence,
    SilenceCoverage,
    SilenceEvent,
    TeamSilenceEnforcement,
)
from alerts.silences.policy import enforcement_plan

logger = logging.getLogger(__name__)

# How far back the sync looks for episodes a silence matched (orphan detection).
MATCH_LOOKBACK = timedelta(days=30)
_CHUNK = 500
# Serialises syncs on PostgreSQL (SQLite's IMMEDIATE transactions already do).
_SYNC_LOCK = 0x5173_1E4C


@dataclass
class SyncResult:
    listed: int = 0
    created: int = 0
    changed: int = 0
    expired_early: int = 0
    ended: int = 0
    vanished: int = 0
    reappeared: int = 0
    reached: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"{self.listed} silences listed: {self.created} new, {self.changed} changed, "
            f"{self.expired_early} expired early, {self.ended} ended, {self.vanished} vanished, "
            f"{self.reappeared} listed again"
        )
        if self.unreachable:
            text += f"; unreachable: {', '.join(sorted(self.unreachable))}"
        return text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _changes(row: Silence, data: SilenceData, api_matchers: list[dict[str, Any]]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if row.matchers != api_matchers:
        changes["matchers"] = [row.matchers, api_matchers]
    if row.comment != data.comment:
        changes["comment"] = [row.comment, data.comment]
    if row.created_by != data.created_by:
        changes["created_by"] = [row.created_by, data.created_by]
    if row.starts_at != data.starts_at:
        changes["starts_at"] = [_iso(row.starts_at), _iso(data.starts_at)]
    if row.ends_at != data.ends_at:
        changes["ends_at"] = [_iso(row.ends_at), _iso(data.ends_at)]
    if row.state != data.state:
        changes["state"] = [row.state, data.state]
    return changes


def _apply(row: Silence, data: SilenceData, api_matchers: list[dict[str, Any]]) -> None:
    row.matchers = api_matchers
    row.comment = data.comment
    row.created_by = data.created_by
    row.starts_at = data.starts_at
    row.ends_at = data.ends_at
    row.state = data.state
    row.alertmanager_updated_at = data.updated_at


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SYNC_LOCK])


def _ledger_rows(listed_ids: list[str]) -> dict[str, Silence]:
    """Ledger rows that may change: every one still listed, and every one not yet vanished."""
    rows = {row.alertmanager_id: row for row in Silence.objects.filter(vanished_at__isnull=True)}
    missing = [silence_id for silence_id in listed_ids if silence_id not in rows]
    for start in range(0, len(missing), _CHUNK):
        for row in Silence.objects.filter(alertmanager_id__in=missing[start : start + _CHUNK]):
            rows[row.alertmanager_id] = row
    return rows


def silences_sync(
    *, urls: str | Sequence[str] | None = None, now: datetime | None = None
) -> SyncResult:
    """Read every silence of the Alertmanager cluster into the ledger, in one transaction.

    New silences are recorded (SEEN), changes are recorded with what changed, a silence whose
    end moved before its planned end and that is now expired is EXPIRED_EARLY, one that reached
    its end is ENDED, and one Alertmanager no longer lists is VANISHED (only judged when every
    configured Alertmanager answered: a peer down must not make its silences vanish). Coverage
    (rules, teams) and the last time each silence matched a firing alert are recomputed.
    Raises `AlertmanagerUnavailable` when no Alertmanager answers.
    """
    listing = silences_fetch(urls)
    try:
        held_back = silenced_alerts(listing.reached)
    except (AlertmanagerUnavailable, AlertmanagerRejected, ValueError) as error:
        # The ledger still syncs; orphan detection then relies on recorded episodes alone.
        logger.warning("silenced alerts unavailable: %s", type(error).__name__)
        held_back = {}
    return silences_record(listing, held_back=held_back, now=now)


def silences_record(
    listing: SilenceListing, *, held_back: dict[str, int] | None = None, now: datetime | None = None
) -> SyncResult:
    """The ledger side of `silences_sync`, for a listing already read (and `held_back`: silence
    id → alerts Alertmanager holds back with it now)."""
    held_back = held_back or {}
    now = now or timezone.now()
    result = SyncResult(
        listed=len(listing.silences),
        reached=list(listing.reached),
        unreachable=dict(listing.unreachable),
    )
    index = CatalogIndex.load()
    coverage_cache: dict[tuple[Matcher, ...], SilenceCoverageResult] = {}
    with transaction.atomic():
        _lock()
        rows = _ledger_rows([data.id for data in listing.silences])
        events: list[SilenceEvent] = []
        created: list[Silence] = []
        updated: list[Silence] = []
        seen: list[int] = []
        unchanged: list[Silence] = []
        for data in listing.silences:
            api_matchers = matchers_to_api(data.matchers)
            row = rows.get(data.id)
            if row is None:
                row = Silence(alertmanager_id=data.id, first_seen_at=now, last_seen_at=now)
                _apply(row, data, api_matchers)
                created.append(row)
                events.append(SilenceEvent(silence=row, kind=SilenceEvent.Kind.SEEN, at=now))
                continue
            changes = _changes(row, data, api_matchers)
            row.last_seen_at = now
            seen.append(row.pk)
            if row.vanished_at is not None:
                changes["vanished_at"] = True
                events.append(SilenceEvent(silence=row, kind=SilenceEvent.Kind.REAPPEARED, at=now))
                row.vanished_at = None
                result.reappeared += 1
            if changes:
                changes.pop("vanished_at", None)
                planned_end = row.ends_at
                _apply(row, data, api_matchers)
                events.extend(_change_events(row, changes, planned_end, now, result))
                row.updated_at = now
                updated.append(row)
            else:
                unchanged.append(row)
        listed = {data.id for data in listing.silences}
        if not listing.unreachable:
            for silence_id, row in rows.items():
                if silence_id in listed or row.vanished_at is not None:
                    continue
                row.vanished_at = now
                row.updated_at = now
                reason = (
                    "garbage-collected by Alertmanager after its retention"
                    if row.state == Silence.State.EXPIRED
                    else "gone while live: Alertmanager lost it (restart without storage?)"
                )
                events.append(
                    SilenceEvent(
                        silence=row, kind=SilenceEvent.Kind.VANISHED, at=now, reason=reason
                    )
                )
                updated.append(row)
                result.vanished += 1
        Silence.objects.bulk_create(created, batch_size=_CHUNK)
        result.created = len(created)
        _save(
            updated,
            [
                "matchers",
                "comment",
                "created_by",
                "starts_at",
                "ends_at",
                "state",
                "alertmanager_updated_at",
                "vanished_at",
                "expired_early_at",
                "expired_by",
                "last_seen_at",
                "updated_at",
            ],
        )
        if not listing.unreachable:
            # Every row not vanished now is listed: one statement instead of thousands of ids.
            Silence.objects.filter(vanished_at__isnull=True).update(last_seen_at=now)
        else:
            for start in range(0, len(seen), _CHUNK):
                chunk = seen[start : start + _CHUNK]
                Silence.objects.filter(pk__in=chunk).update(last_seen_at=now)
        for event in events:
            event.silence_id = event.silence.pk
        SilenceEvent.objects.bulk_create(events, batch_size=_CHUNK)
        current = [row for row in (*created, *updated, *unchanged) if row.vanished_at is None]
        parsed = {data.id: data.matchers for data in listing.silences}
        coverage = {
            row.pk: coverage_of(parsed[row.alertmanager_id], index, coverage_cache)
            for row in current
        }
        _store_coverage(coverage)
        _store_last_matched(current, parsed, coverage, held_back, now)
    return result


def _save(rows: list[Silence], fields: list[str]) -> None:
    """One UPDATE per changed row: changes are few per sync, and Django's `bulk_update` (a CASE
    per field and row) costs seconds for a few hundred rows on PostgreSQL."""
    for row in rows:
        Silence.objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in fields})


def _change_events(
    row: Silence,
    changes: dict[str, Any],
    planned_end: datetime,
    now: datetime,
    result: SyncResult,
) -> list[SilenceEvent]:
    events = []
    became_expired = "state" in changes and row.state == Silence.State.EXPIRED
    if became_expired and row.ends_at < planned_end and row.expired_early_at is None:
        row.expired_early_at = row.ends_at
        row.expired_by = row.expired_by or "outside Steward (Alertmanager UI, amtool or API)"
        events.append(
            SilenceEvent(
                silence=row,
                kind=SilenceEvent.Kind.EXPIRED_EARLY,
                at=now,
                actor=row.expired_by,
                detail={"ends_at": [_iso(planned_end), _iso(row.ends_at)]},
            )
        )
        result.expired_early += 1
        changes = {k: v for k, v in changes.items() if k not in ("state", "ends_at")}
    elif became_expired:
        events.append(SilenceEvent(silence=row, kind=SilenceEvent.Kind.ENDED, at=now))
        result.ended += 1
        changes = {k: v for k, v in changes.items() if k != "state"}
    elif "state" in changes:
        changes = {k: v for k, v in changes.items() if k != "state"}  # pending → active
    elif row.state == Silence.State.EXPIRED:
        # Alertmanager's own end of a silence Steward expired: not a change of plan.
        changes = {k: v for k, v in changes.items() if k != "ends_at"}
    if changes:
        events.append(
            SilenceEvent(silence=row, kind=SilenceEvent.Kind.CHANGED, at=now, detail=changes)
        )
        result.changed += 1
    return events


def _store_coverage(coverage: dict[int, SilenceCoverageResult]) -> None:
    """Make the coverage rows and team links equal `coverage`, writing only differences."""
    have_rules: dict[int, dict[int, str]] = defaultdict(dict)
    have_teams: dict[int, set[int]] = defaultdict(set)
    through = Silence.teams.through
    # The rows being compared are those of silences not vanished: read them by a join, not by
    # thousands of ids.
    for silence_id, rule_id, kind in SilenceCoverage.objects.filter(
        silence__vanished_at__isnull=True
    ).values_list("silence_id", "rule_id", "kind"):
        if silence_id in coverage:
            have_rules[silence_id][rule_id] = kind
    for silence_id, team_id in through.objects.filter(
        silence__vanished_at__isnull=True
    ).values_list("silence_id", "team_id"):
        if silence_id in coverage:
            have_teams[silence_id].add(team_id)
    drop_rules: list[Q] = []
    add_rules: list[SilenceCoverage] = []
    drop_teams: list[Q] = []
    add_teams: list[Any] = []
    for silence_id, wanted in coverage.items():
        have = have_rules.get(silence_id, {})
        stale = [r for r, kind in have.items() if wanted.rules.get(r) != kind]
        if stale:
            drop_rules.append(Q(silence_id=silence_id, rule_id__in=stale))
        add_rules += [
            SilenceCoverage(silence_id=silence_id, rule_id=r, kind=kind.value)
            for r, kind in wanted.rules.items()
            if have.get(r) != kind.value
        ]
        teams = have_teams.get(silence_id, set())
        if teams - wanted.teams:
            drop_teams.append(Q(silence_id=silence_id, team_id__in=teams - wanted.teams))
        add_teams += [through(silence_id=silence_id, team_id=t) for t in wanted.teams - teams]
    for start in range(0, len(drop_rules), _CHUNK):
        query = Q()
        for condition in drop_rules[start : start + _CHUNK]:
            query |= condition
        SilenceCoverage.objects.filter(query).delete()
    for start in range(0, len(drop_teams), _CHUNK):
        query = Q()
        for condition in drop_teams[start : start + _CHUNK]:
            query |= condition
        through.objects.filter(query).delete()
    SilenceCoverage.objects.bulk_create(add_rules, batch_size=_CHUNK)
    through.objects.bulk_create(add_teams, batch_size=_CHUNK)


def _store_last_matched(
    rows: list[Silence],
    parsed: dict[str, tuple[Matcher, ...]],
    coverage: dict[int, SilenceCoverageResult],
    held_back: dict[str, int],
    now: datetime,
) -> None:
    """`last_matched_at` of active silences: now when Alertmanager says the silence holds an
    alert back, else the last time a recorded episode of a covered rule that the silence's
    matchers fit was firing while the silence was active."""
    active = [row for row in rows if row.state == Silence.State.ACTIVE]
    if not active:
        return
    since = {
        row.pk: max(row.last_matched_at or row.starts_at, row.starts_at, now - MATCH_LOOKBACK)
        for row in active
    }
    rule_ids = sorted({r for row in active for r in coverage[row.pk].rules})
    episodes: dict[int, list[tuple[dict[str, str], datetime, datetime | None]]] = defaultdict(list)
    if rule_ids:
        earliest = min(since.values())
        for start in range(0, len(rule_ids), _CHUNK):
            chunk = rule_ids[start : start + _CHUNK]
            for rule_id, labels, starts_at, ends_at in (
                Episode.objects.filter(rule_id__in=chunk, starts_at__lt=now)
                .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=earliest))
                .values_list("rule_id", "labels", "starts_at", "ends_at")
            ):
                episodes[rule_id].append((labels, starts_at, ends_at))
    changed = []
    for row in active:
        last = row.last_matched_at
        if held_back.get(row.alertmanager_id):
            last = now
        else:
            matchers = parsed[row.alertmanager_id]
            for rule_id in coverage[row.pk].rules:
                for labels, _starts_at, ends_at in episodes.get(rule_id, ()):
                    seen = now if ends_at is None else min(ends_at, now)
                    if seen <= since[row.pk] or (last is not None and seen <= last):
                        continue
                    if silence_matches(matchers, labels):
                        last = seen
        if last != row.last_matched_at:
            row.last_matched_at = last
            changed.append(row)
    by_time: dict[datetime | None, list[int]] = defaultdict(list)
    for row in changed:
        by_time[row.last_matched_at].append(row.pk)
    for at, pks in by_time.items():
        for start in range(0, len(pks), _CHUNK):
            Silence.objects.filter(pk__in=pks[start : start + _CHUNK]).update(last_matched_at=at)


def silence_expire_record(
    silence: Silence,
    *,
    actor: str,
    reason: str,
    kind: str = SilenceEvent.Kind.EXPIRED_EARLY,
    urls: str | Sequence[str] | None = None,
    now: datetime | None = None,
) -> bool:
    """Expire a silence in Alertmanager now and record who did it and why (the ledger says so
    before the next sync). Returns False when Alertmanager no longer knew the silence.
    Raises `AlertmanagerUnavailable` (retry later) without touching the ledger."""
    known = client_silence_expire(urls, silence.alertmanager_id)
    now = now or timezone.now()
    with transaction.atomic():
        row = Silence.objects.select_for_update().get(pk=silence.pk)
        detail = {"ends_at": [_iso(row.ends_at), _iso(now)]}
        if row.state != Silence.State.EXPIRED:
            row.expired_early_at = now
            row.expired_by = actor
            row.ends_at = now
            row.state = Silence.State.EXPIRED
            row.save(update_fields=["expired_early_at", "expired_by", "ends_at", "state"])
        SilenceEvent.objects.create(
            silence=row, kind=kind, at=now, actor=actor, reason=reason, detail=detail
        )
    silence.refresh_from_db()
    return known


ENFORCEMENT_ACTOR = "Steward silence policy"


@dataclass
class EnforcementResult:
    expired: list[Silence] = field(default_factory=list)
    would_expire: list[Silence] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def silences_enforce(
    *, urls: str | Sequence[str] | None = None, now: datetime | None = None
) -> EnforcementResult:
    """Carry out the teams' enforcement (`alerts.silences.policy.enforcement_plan`): expire
    orphaned or over-long silences in Alertmanager and record why; in dry run record once
    (per silence and reason) that it would have been expired, and touch nothing.
    Alertmanager unavailable for one silence: it is left for the next run (listed in
    `failed`), the others go on."""
    now = now or timezone.now()
    result = EnforcementResult()
    for item in enforcement_plan(now=now):
        if item.mode == TeamSilenceEnforcement.Mode.ENFORCE:
            try:
                silence_expire_record(
                    item.silence,
                    actor=ENFORCEMENT_ACTOR,
                    reason=item.reason,
                    kind=SilenceEvent.Kind.ENFORCED,
                    urls=urls,
                    now=now,
                )
            except (AlertmanagerUnavailable, AlertmanagerRejected) as error:
                result.failed[item.silence.alertmanager_id] = str(error)
                continue
            result.expired.append(item.silence)
        else:
            result.would_expire.append(item.silence)
            already = SilenceEvent.objects.filter(
                silence=item.silence,
                kind=SilenceEvent.Kind.WOULD_ENFORCE,
                reason=item.reason,
            ).exists()
            if not already:
                SilenceEvent.objects.create(
                    silence=item.silence,
                    kind=SilenceEvent.Kind.WOULD_ENFORCE,
                    at=now,
                    actor=ENFORCEMENT_ACTOR,
                    reason=item.reason,
                )
    return result


def team_enforcement_set(*, team: Any, mode: str, user: Any) -> TeamSilenceEnforcement:
    """Set a team's silence enforcement (off, dry run, enforce)."""
    setting, _ = TeamSilenceEnforcement.objects.update_or_create(
        team=team,
        defaults={"mode": TeamSilenceEnforcement.Mode(mode).value, "updated_by": user},
    )
    return setting
