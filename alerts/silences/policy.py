"""Silence policy: the one place that says when a silence deserves a flag, and which flags
Steward may act on itself (expire the silence) for teams that turned enforcement on.

Flags, each with what to do about it (shown on /silences/, the silence page and the weekly
review): over-long for its severity, no reason given, created by someone outside the owning
team, orphaned (held back no firing alert for `STEWARD_SILENCE_ORPHAN_HOURS`), broad (covers
several teams or more than `STEWARD_SILENCE_BROAD_MAX_RULES` rules), ending soon (a digest, so
a mute never lapses by surprise). Only live silences (active or pending, still listed) are
flagged; only orphaned and over-long ones are ever expired by enforcement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from alerts.silences.models import Silence, SilenceCoverage, TeamSilenceEnforcement
from core.choices import INTERRUPTING_SEVERITIES, Severity
from fleet.models import Membership, Team


class FlagKind:
    OVER_LONG = "over_long"
    NO_REASON = "no_reason"
    NOT_OWNER = "not_owner"
    ORPHANED = "orphaned"
    BROAD = "broad"
    ENDING_SOON = "ending_soon"

    CHOICES = [
        (OVER_LONG, "Over-long"),
        (NO_REASON, "No reason"),
        (NOT_OWNER, "Creator outside the team"),
        (ORPHANED, "Orphaned"),
        (BROAD, "Broad"),
        (ENDING_SOON, "Ending soon"),
    ]
    LABELS = dict(CHOICES)
    VALUES = [value for value, _ in CHOICES]
    # What enforcement may expire.
    ENFORCEABLE = (ORPHANED, OVER_LONG)


@dataclass(frozen=True)
class SilencePolicy:
    max_page: timedelta
    max_ticket: timedelta
    orphan_after: timedelta
    broad_max_rules: int
    ending_soon: timedelta

    @classmethod
    def from_settings(cls) -> SilencePolicy:
        return cls(
            max_page=timedelta(days=settings.STEWARD_SILENCE_MAX_DAYS_PAGE),
            max_ticket=timedelta(days=settings.STEWARD_SILENCE_MAX_DAYS_TICKET),
            orphan_after=timedelta(hours=settings.STEWARD_SILENCE_ORPHAN_HOURS),
            broad_max_rules=settings.STEWARD_SILENCE_BROAD_MAX_RULES,
            ending_soon=timedelta(hours=settings.STEWARD_SILENCE_ENDING_SOON_HOURS),
        )

    def max_duration(self, severities: Iterable[str]) -> tuple[timedelta, str]:
        """The longest allowed silence and the severity that sets it: the page maximum when a
        covered rule pages (page, critical) or when no catalogued rule is covered (unknown
        alerts are held to the strictest limit), the ticket maximum otherwise."""
        found = set(severities)
        if not found or found & set(INTERRUPTING_SEVERITIES) or "" in found:
            worst = next((s for s in INTERRUPTING_SEVERITIES if s in found), Severity.PAGE)
            return self.max_page, str(worst)
        return self.max_ticket, sorted(found)[0]


@dataclass(frozen=True)
class SilenceFlag:
    kind: str
    message: str
    action: str
    url: str

    @property
    def label(self) -> str:
        return FlagKind.LABELS[self.kind]

    @property
    def enforceable(self) -> bool:
        return self.kind in FlagKind.ENFORCEABLE


def _days(value: timedelta) -> str:
    days = value.total_seconds() / 86400
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}" if days >= 1 else f"{value}"


def has_reason(comment: str) -> bool:
    """A reason is a comment with some words: at least 4 characters besides spaces, and a
    letter ("-", "x", "tmp", "..." are not reasons)."""
    text = "".join(comment.split())
    return len(text) >= 4 and any(ch.isalpha() for ch in text)


def creators_teams(creators: Iterable[str]) -> dict[str, set[int]]:
    """Creator string → team ids of the Steward user it names (username or e-mail, any case).
    A creator that names no user maps to no team."""
    wanted = {creator.strip().lower() for creator in creators if creator.strip()}
    if not wanted:
        return {}
    users: dict[int, set[str]] = defaultdict(set)
    query = Q()
    for creator in wanted:
        query |= Q(username__iexact=creator) | Q(email__iexact=creator)
    for pk, username, email in (
        get_user_model().objects.filter(query).values_list("pk", "username", "email")
    ):
        for key in (username.lower(), (email or "").lower()):
            if key in wanted:
                users[pk].add(key)
    teams: dict[str, set[int]] = defaultdict(set)
    for user_id, team_id in Membership.objects.filter(user_id__in=list(users)).values_list(
        "user_id", "team_id"
    ):
        for key in users[user_id]:
            teams[key].add(team_id)
    for user_keys in users.values():
        for key in user_keys:
            teams.setdefault(key, set())
    return dict(teams)


@dataclass
class SilenceFacts:
    """What the policy needs about one silence, loaded in bulk by `silence_facts`."""

    silence: Silence
    severities: list[str]
    rule_count: int
    teams: list[Team]


def silence_facts(silences: Sequence[Silence]) -> dict[int, SilenceFacts]:
    """Covered severities, rule counts and teams of many silences, in two queries."""
    ids = [silence.pk for silence in silences]
    severities: dict[int, list[str]] = defaultdict(list)
    for silence_id, severity in SilenceCoverage.objects.filter(silence_id__in=ids).values_list(
        "silence_id", "rule__severity"
    ):
        severities[silence_id].append(severity)
    teams: dict[int, list[Team]] = defaultdict(list)
    through = Silence.teams.through
    for link in through.objects.filter(silence_id__in=ids).select_related("team"):
        teams[link.silence_id].append(link.team)
    return {
        silence.pk: SilenceFacts(
            silence=silence,
            severities=severities.get(silence.pk, []),
            rule_count=len(severities.get(silence.pk, [])),
            teams=sorted(teams.get(silence.pk, []), key=lambda team: team.name),
        )
        for silence in silences
    }


def silence_flags(
    silences: Sequence[Silence],
    *,
    now: datetime,
    policy: SilencePolicy | None = None,
    facts: dict[int, SilenceFacts] | None = None,
) -> dict[int, list[SilenceFlag]]:
    """The flags of each live silence (silence id → flags; no entry: nothing to say)."""
    policy = policy or SilencePolicy.from_settings()
    live = [silence for silence in silences if silence.is_live]
    facts = facts if facts is not None else silence_facts(live)
    memberships = creators_teams(silence.created_by for silence in live)
    flags: dict[int, list[SilenceFlag]] = {}
    for silence in live:
        fact = facts[silence.pk]
        found = _flags(silence, fact, memberships, now=now, policy=policy)
        if found:
            flags[silence.pk] = found
    return flags


def _flags(
    silence: Silence,
    fact: SilenceFacts,
    memberships: dict[str, set[int]],
    *,
    now: datetime,
    policy: SilencePolicy,
) -> list[SilenceFlag]:
    url = reverse("silences:detail", args=[silence.pk])
    flags: list[SilenceFlag] = []
    longest, severity = policy.max_duration(fact.severities)
    length = silence.ends_at - silence.starts_at
    if length > longest:
        flags.append(
            SilenceFlag(
                FlagKind.OVER_LONG,
                f"Runs {_days(length)}, longer than the {_days(longest)} allowed for "
                f"{severity} alerts.",
                f"Shorten it to end by {(silence.starts_at + longest):%Y-%m-%d %H:%M} UTC, or "
                "decide in the review to mute, tune or prune the rule instead of silencing it.",
                url,
            )
        )
    if not has_reason(silence.comment):
        flags.append(
            SilenceFlag(
                FlagKind.NO_REASON,
                "No reason given"
                + (f" (comment “{silence.comment}”)." if silence.comment else "."),
                "Ask the creator to write why in the comment (a ticket, an incident, a change), "
                "or expire it.",
                url,
            )
        )
    if fact.teams:
        creator = silence.created_by.strip().lower()
        teams_of_creator = memberships.get(creator)
        if not teams_of_creator or not teams_of_creator & {team.pk for team in fact.teams}:
            who = (
                "is not a Steward user"
                if teams_of_creator is None
                else "is in none of the teams it covers"
            )
            names = ", ".join(team.name for team in fact.teams)
            flags.append(
                SilenceFlag(
                    FlagKind.NOT_OWNER,
                    f"Created by “{silence.created_by or 'nobody'}”, who {who} ({names}).",
                    f"Confirm with {names} that the silence is wanted; the owning team should "
                    "create (or take over) its own silences.",
                    url,
                )
            )
    if (
        silence.state == Silence.State.ACTIVE
        and now - silence.starts_at >= policy.orphan_after
        and (
            silence.last_matched_at is None or now - silence.last_matched_at >= policy.orphan_after
        )
    ):
        since = (
            f"since {silence.last_matched_at:%Y-%m-%d %H:%M} UTC"
            if silence.last_matched_at
            else "since it started"
        )
        flags.append(
            SilenceFlag(
                FlagKind.ORPHANED,
                f"Has held back no firing alert {since} "
                f"(more than {policy.orphan_after.total_seconds() / 3600:.0f} h).",
                "Expire it: it silences nothing, and would hide the next real alert.",
                url,
            )
        )
    if len(fact.teams) > 1 or fact.rule_count > policy.broad_max_rules:
        parts = []
        if len(fact.teams) > 1:
            parts.append(f"{len(fact.teams)} teams ({', '.join(t.name for t in fact.teams)})")
        if fact.rule_count > policy.broad_max_rules:
            parts.append(f"{fact.rule_count} rules (more than {policy.broad_max_rules})")
        flags.append(
            SilenceFlag(
                FlagKind.BROAD,
                f"Covers {' and '.join(parts)}.",
                "Narrow its matchers to the alerts meant (add alertname or the system's label), "
                "one silence per team.",
                url,
            )
        )
    if silence.state == Silence.State.ACTIVE and now <= silence.ends_at <= now + policy.ending_soon:
        flags.append(
            SilenceFlag(
                FlagKind.ENDING_SOON,
                f"Ends {silence.ends_at:%Y-%m-%d %H:%M} UTC, within "
                f"{policy.ending_soon.total_seconds() / 3600:.0f} h: its alerts notify again then.",
                "Fix the cause before it ends, extend it with a reason, or let it lapse on "
                "purpose.",
                url,
            )
        )
    return flags


def enforcement_modes(team_ids: Iterable[int]) -> dict[int, str]:
    modes = dict.fromkeys(team_ids, TeamSilenceEnforcement.Mode.OFF.value)
    for team_id, mode in TeamSilenceEnforcement.objects.filter(team_id__in=list(modes)).values_list(
        "team_id", "mode"
    ):
        modes[team_id] = mode
    return modes


_STRICTNESS = [
    TeamSilenceEnforcement.Mode.OFF,
    TeamSilenceEnforcement.Mode.DRY_RUN,
    TeamSilenceEnforcement.Mode.ENFORCE,
]


def silence_mode(team_ids: Iterable[int], modes: dict[int, str]) -> str:
    """The enforcement of a silence: the least strict mode among the teams it covers (every
    team must agree before Steward expires a shared silence); off when it covers no team."""
    found = [modes.get(team_id, TeamSilenceEnforcement.Mode.OFF) for team_id in team_ids]
    if not found:
        return TeamSilenceEnforcement.Mode.OFF
    return min(found, key=lambda mode: _STRICTNESS.index(TeamSilenceEnforcement.Mode(mode)))


@dataclass(frozen=True)
class EnforcementItem:
    silence: Silence
    mode: str
    flags: list[SilenceFlag]

    @property
    def reason(self) -> str:
        return " ".join(f"{flag.label}: {flag.message}" for flag in self.flags)


def enforcement_plan(
    *, now: datetime, policy: SilencePolicy | None = None
) -> list[EnforcementItem]:
    """Live silences with an enforceable flag whose teams turned enforcement on (dry run or
    enforce): what enforcement expires, or in dry run would expire."""
    live = list(Silence.objects.live().order_by("ends_at", "pk"))
    facts = silence_facts(live)
    flags = silence_flags(live, now=now, policy=policy, facts=facts)
    modes = enforcement_modes({team.pk for fact in facts.values() for team in fact.teams})
    plan = []
    for silence in live:
        enforceable = [flag for flag in flags.get(silence.pk, []) if flag.enforceable]
        if not enforceable:
            continue
        mode = silence_mode([team.pk for team in facts[silence.pk].teams], modes)
        if mode != TeamSilenceEnforcement.Mode.OFF:
            plan.append(EnforcementItem(silence=silence, mode=mode, flags=enforceable))
    return plan
