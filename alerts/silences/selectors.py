"""Reads of the silence ledger: the list and detail pages, a rule's and an alert's silences,
the alerts a silence held back, and the review digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from alerts.models import AlertRule, Episode
from alerts.silences.matchers import silence_matches
from alerts.silences.models import Silence, SilenceCoverage
from alerts.silences.policy import (
    FlagKind,
    SilenceFacts,
    SilenceFlag,
    silence_facts,
    silence_flags,
)
from fleet.models import Team

TABS = ("active", "pending", "expired")
HELD_BACK_SHOWN = 50
# Episodes read to find those a silence held back (newest first): a bound on one page's work.
HELD_BACK_SCANNED = 5000


@dataclass(frozen=True)
class SilenceFilters:
    tab: str = "active"
    team: str = ""
    flag: str = ""
    creator: str = ""


def silences_in_tab(tab: str) -> QuerySet[Silence]:
    """Active and pending: still listed by Alertmanager. Expired: ended, or vanished."""
    silences = Silence.objects.all()
    if tab == "expired":
        return silences.filter(Q(state=Silence.State.EXPIRED) | Q(vanished_at__isnull=False))
    return silences.filter(state=tab, vanished_at__isnull=True)


@dataclass
class SilenceRow:
    silence: Silence
    facts: SilenceFacts
    flags: list[SilenceFlag] = field(default_factory=list)


def silence_rows(filters: SilenceFilters, *, now: datetime) -> list[SilenceRow]:
    """The silences of a tab after the filters, with their teams and flags (a few queries,
    whatever the number)."""
    silences = silences_in_tab(filters.tab)
    if filters.team:
        silences = silences.filter(teams__slug=filters.team)
    if filters.creator:
        silences = silences.filter(created_by__icontains=filters.creator)
    order = "-ends_at" if filters.tab == "expired" else "ends_at"
    listed = list(silences.distinct().order_by(order, "pk"))
    facts = silence_facts(listed)
    flags = silence_flags(listed, now=now, facts=facts)
    rows = [SilenceRow(s, facts[s.pk], flags.get(s.pk, [])) for s in listed]
    if filters.flag:
        rows = [row for row in rows if any(flag.kind == filters.flag for flag in row.flags)]
    return rows


def tab_counts() -> dict[str, int]:
    return {tab: silences_in_tab(tab).count() for tab in TABS}


def silence_coverage(silence: Silence) -> list[SilenceCoverage]:
    return list(
        silence.coverage.select_related("rule__owner_team", "rule__system__owner_team").order_by(
            "rule__alertname", "rule__matchers_key"
        )
    )


def held_back_episodes(
    silence: Silence, *, now: datetime, limit: int = HELD_BACK_SHOWN
) -> tuple[list[Episode], int]:
    """Episodes of the rules the silence covers that fired while it was active and that its
    matchers fit (labels as recorded): the alerts it held back. First `limit`, and the total."""
    end = min(silence.ends_at, now)
    if end <= silence.starts_at:
        return [], 0
    matchers = silence.matcher_list
    episodes = (
        Episode.objects.filter(rule__silence_coverage__silence=silence)
        .overlapping(silence.starts_at, end)
        .select_related("rule")
        .order_by("-starts_at", "-pk")
    )
    held = [
        episode
        for episode in episodes[:HELD_BACK_SCANNED]
        if silence_matches(matchers, episode.labels)
    ]
    return held[:limit], len(held)


def rule_silences(rule: AlertRule, labels: Mapping[str, str] | None = None) -> list[Silence]:
    """Live silences covering a rule, soonest end first; with `labels` (an on-call lookup,
    possibly partial), those whose matchers the given labels do not contradict."""
    silences = list(
        Silence.objects.live()
        .filter(coverage__rule=rule)
        .distinct()
        .order_by("state", "ends_at", "pk")
    )
    if not labels:
        return silences
    given = {name: value for name, value in labels.items() if value != ""}
    given.setdefault("alertname", rule.alertname)
    kept = []
    for silence in silences:
        decided = [m for m in silence.matcher_list if m.name in given]
        if silence_matches(decided, given):
            kept.append(silence)
    return kept


@dataclass(frozen=True)
class SilenceDigest:
    """The weekly review's silence section: flagged live silences and those ending soon."""

    flagged: list[SilenceRow]
    ending_soon: list[SilenceRow]

    @property
    def empty(self) -> bool:
        return not self.flagged and not self.ending_soon


def silence_digest(*, team: Team | None, now: datetime) -> SilenceDigest:
    rows = silence_rows(SilenceFilters(tab="active", team=team.slug if team else ""), now=now)
    rows += silence_rows(SilenceFilters(tab="pending", team=team.slug if team else ""), now=now)
    ending = [row for row in rows if any(f.kind == FlagKind.ENDING_SOON for f in row.flags)]
    flagged = [row for row in rows if any(f.kind != FlagKind.ENDING_SOON for f in row.flags)]
    return SilenceDigest(flagged=flagged, ending_soon=ending)
