"""Eight weeks of believable firing history for whatever catalog exists (the demo).

`demo_history_seed` picks rules by their properties, deterministically (sorted, seeded random),
and gives each a profile: a noisy rule, a flapping one, a transient one, a page at night, a
stuck one, a duplicate pair on one system, unowned and runbook-less rules that fire, quiet
healthy rules and silent ones. Re-running with the same `now` leaves the same data: every demo
episode has a fingerprint starting with "demo-" and is replaced on each run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction

from alerts.models import INTERRUPTING_SEVERITIES, AlertRule, Engagement, Episode, Feedback, Source
from alerts.noise.evaluation import week_evaluate
from alerts.weeks import week_bounds, week_of, weeks_back

WEEKS = 8
PREFIX = "demo-"
# (start, end or None, fingerprint suffix, engaged, feedback: None / True / False)
Firing = tuple[datetime, datetime | None, str, bool, bool | None]
Profile = Callable[[AlertRule, random.Random, datetime, datetime], list[Firing]]


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _span(first: datetime, week: int, now: datetime) -> tuple[datetime, int]:
    """Start and length in minutes of the history's week `week`, cut an hour before `now`, so
    that the running week shows its share of every pattern (the pages show this week's flags)."""
    start = first + timedelta(weeks=week)
    end = min(start + timedelta(weeks=1), now - timedelta(hours=1))
    return start, max(int((end - start).total_seconds() // 60), 0)


def _at(rng: random.Random, first: datetime, week: int, now: datetime) -> datetime | None:
    start, minutes = _span(first, week, now)
    return start + timedelta(minutes=rng.randint(0, minutes)) if minutes > 60 else None


def _quiet(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    firings: list[Firing] = []
    for week in range(WEEKS):
        for _ in range(rng.randint(0, 2)):
            start = _at(rng, first, week, now)
            if start is not None:
                firings.append((start, start + _minutes(rng, 10, 90), "a", True, True))
    return firings


def _noisy(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    firings: list[Firing] = []
    for week in range(WEEKS):
        for _ in range(6 if week < WEEKS - 2 else 30):
            start = _at(rng, first, week, now)
            if start is not None:
                engaged = rng.random() < 0.1
                end = start + _minutes(rng, 8, 40)
                firings.append((start, end, rng.choice("abc"), engaged, None))
    return firings


def _flapping(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    firings: list[Firing] = []
    for week in range(WEEKS):
        for burst in range(2):
            begin = _at(rng, first, week, now)
            if begin is None:
                continue
            for refire in range(4):
                start = begin + timedelta(minutes=20 * refire)
                firings.append((start, start + _minutes(rng, 6, 12), "a", burst == 0, None))
    return firings


def _transient(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    firings: list[Firing] = []
    for week in range(WEEKS):
        for _ in range(9):
            start = _at(rng, first, week, now)
            if start is not None:
                end = start + timedelta(seconds=rng.randint(40, 240))
                firings.append((start, end, "a", False, None))
    return firings


def _night(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    zone = ZoneInfo(rule.owner_team.timezone if rule.owner_team else "UTC")
    firings: list[Firing] = []
    for week in range(WEEKS):
        for day in rng.sample(range(-1, 7), 4):
            local = (first + timedelta(weeks=week, days=day)).astimezone(zone)
            local = local.replace(hour=rng.choice([23, 2, 3, 4]), minute=rng.randint(0, 59))
            start = local.astimezone(first.tzinfo)
            if first <= start < now - timedelta(hours=2):
                firings.append((start, start + _minutes(rng, 15, 50), "a", True, False))
    return firings


def _stuck(rule: AlertRule, rng: random.Random, first: datetime, now: datetime) -> list[Firing]:
    return [(now - timedelta(days=6, hours=3), None, "a", True, None)]


def _duplicate_pair(
    rules: tuple[AlertRule, AlertRule], rng: random.Random, first: datetime, now: datetime
) -> dict[int, list[Firing]]:
    leader, follower = rules
    firings: dict[int, list[Firing]] = {leader.pk: [], follower.pk: []}
    for week in range(WEEKS):
        for _ in range(7):
            start = _at(rng, first, week, now)
            if start is None:
                continue
            end = start + _minutes(rng, 10, 30)
            echo = start + timedelta(seconds=rng.randint(20, 90))
            firings[leader.pk].append((start, end, "a", True, True))
            firings[follower.pk].append((echo, end + timedelta(minutes=1), "a", False, None))
    return firings


def _pick(rules: list[AlertRule], test: Callable[[AlertRule], bool]) -> AlertRule | None:
    found = next((rule for rule in rules if test(rule)), None) or (rules[0] if rules else None)
    if found is not None:
        rules.remove(found)
    return found


def _duplicates(rules: list[AlertRule]) -> tuple[AlertRule, AlertRule] | None:
    by_system: dict[int, list[AlertRule]] = {}
    for rule in rules:
        if rule.system_id is not None:
            by_system.setdefault(rule.system_id, []).append(rule)
    pair = next((group[:2] for group in by_system.values() if len(group) >= 2), rules[:2])
    if len(pair) < 2:
        return None
    for rule in pair:
        rules.remove(rule)
    return pair[0], pair[1]


def _owned(rule: AlertRule) -> bool:
    return rule.owner_team_id is not None and rule.runbook_id is not None


def _assign(rules: list[AlertRule], rng: random.Random) -> dict[int, Profile]:
    """Choose a profile per rule; rules left without one stay silent."""
    profiles: dict[int, Profile] = {}
    wanted: list[tuple[Profile, Callable[[AlertRule], bool]]] = [
        (_night, lambda rule: rule.severity in INTERRUPTING_SEVERITIES and _owned(rule)),
        (_noisy, _owned),
        (_flapping, _owned),
        (_transient, _owned),
        (_stuck, _owned),
        (_quiet, lambda rule: rule.owner_team_id is None),
        (_quiet, lambda rule: rule.runbook_id is None),
    ]
    for profile, test in wanted:
        rule = _pick(rules, test)
        if rule is not None:
            profiles[rule.pk] = profile
    for index, rule in enumerate(rules):
        # Most of the rest are healthy and quiet; the first and about a third are silent.
        if index > 0 and rng.random() < 0.7:
            profiles[rule.pk] = _quiet
    return profiles


def _demo_user() -> User:
    user, created = User.objects.get_or_create(
        username="demo-oncall", defaults={"first_name": "Demo", "last_name": "On-call"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _catalog_extras(now: datetime) -> None:
    """An uncatalogued rule (as ingest creates one) and a rule muted with no end."""
    AlertRule.objects.get_or_create(
        alertname="DemoUnregisteredDiskPressure",
        matchers_key="",
        defaults={"catalogued": False, "source": Source.PROMETHEUS, "last_fired_at": now},
    )
    if not AlertRule.objects.filter(status=AlertRule.Status.MUTED).exists():
        quiet = (
            AlertRule.objects.filter(status=AlertRule.Status.ACTIVE, catalogued=True)
            .order_by("-alertname")
            .first()
        )
        if quiet is not None:
            quiet.status = AlertRule.Status.MUTED
            quiet.muted_at = now - timedelta(days=75)
            quiet.muted_until = None
            quiet.save(update_fields=["status", "muted_at", "muted_until", "updated_at"])


@transaction.atomic
def _write(firings: dict[int, list[Firing]], now: datetime) -> int:
    Episode.objects.filter(fingerprint__startswith=PREFIX).delete()
    user = _demo_user()
    episodes: list[Episode] = []
    meta: list[tuple[bool, bool | None]] = []
    for rule_id, rows in sorted(firings.items()):
        for start, end, suffix, engaged, feedback in rows:
            episodes.append(
                Episode(
                    rule_id=rule_id,
                    fingerprint=f"{PREFIX}{rule_id}-{suffix}",
                    labels={"demo": "true"},
                    starts_at=start,
                    ends_at=end,
                    source=Source.PROMETHEUS,
                    last_notified_at=end or now,
                    notification_count=1,
                    created_at=start,
                    updated_at=end or now,
                )
            )
            meta.append((engaged, feedback))
    created = Episode.objects.bulk_create(episodes, batch_size=500)
    engagements, verdicts = [], []
    for episode, (engaged, feedback) in zip(created, meta, strict=True):
        seen = episode.starts_at + timedelta(minutes=4)
        if engaged:
            engagements.append(
                Engagement(episode=episode, user=user, kind=Engagement.Kind.RUNBOOK_VIEW, at=seen)
            )
        if feedback is not None:
            verdicts.append(
                Feedback(
                    episode=episode,
                    user=user,
                    actionable=feedback,
                    created_at=seen,
                    updated_at=seen,
                )
            )
    Engagement.objects.bulk_create(engagements, batch_size=500)
    Feedback.objects.bulk_create(verdicts, batch_size=500)
    return len(created)


def demo_history_seed(*, now: datetime) -> int:
    """Create the demo history ending at `now`, evaluate its 8 weeks; returns episodes made."""
    _catalog_extras(now)
    rng = random.Random(20261116)  # noqa: S311 - demo data, not security
    rules = list(
        AlertRule.objects.exclude(status__in=[AlertRule.Status.RETIRED, AlertRule.Status.PRUNED])
        .exclude(status=AlertRule.Status.MUTED)
        .select_related("owner_team")
        .order_by("alertname", "matchers_key")
    )
    weeks = weeks_back(week_of(now), WEEKS)
    first, _ = week_bounds(weeks[0])
    firings: dict[int, list[Firing]] = {}
    for rule in list(rules):
        if not rule.catalogued:
            rules.remove(rule)
            firings[rule.pk] = _transient(rule, rng, first, now)[-5:]
    pair = _duplicates(rules)
    if pair is not None:
        firings.update(_duplicate_pair(pair, rng, first, now))
    by_pk = {rule.pk: rule for rule in rules}
    for pk, profile in _assign(rules, rng).items():
        firings[pk] = profile(by_pk[pk], rng, first, now)
    count = _write(firings, now)
    for week in weeks:
        week_evaluate(week=week, now=now)
    return count
