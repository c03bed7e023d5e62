"""Flags: why a rule falls short of the doctrine in a week, with the numbers and plain words.

Pure functions over already-computed statistics and catalog facts; thresholds come from the
STEWARD_* settings (README "Noise evaluation").
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from alerts.models import AlertRule, Flag
from alerts.noise.cofiring import Pair
from alerts.noise.statistics import RuleStats


@dataclass(frozen=True)
class RuleFacts:
    """What the catalog says about a rule, as of the week's end."""

    rule_id: int
    name: str
    status: str
    catalogued: bool
    owner_team_name: str | None
    owner_team_timezone: str | None
    owner_team_has_members: bool
    runbook_title: str | None
    runbook_review_due_at: datetime | None
    muted_at: datetime | None
    muted_until: datetime | None
    fired_recently: bool

    @property
    def in_catalog(self) -> bool:
        return self.status not in (AlertRule.Status.RETIRED, AlertRule.Status.PRUNED)


@dataclass(frozen=True)
class RaisedFlag:
    rule_id: int
    flag: str
    evidence: dict[str, Any]
    message: str


def _pct(ratio: float) -> str:
    return f"{round(ratio * 100)}%"


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def noisy_flag(stats: RuleStats, previous: list[int]) -> RaisedFlag | None:
    median = statistics.median(previous) if previous else 0
    evidence = {
        "fires": stats.fires,
        "median_4w": median,
        "threshold": settings.STEWARD_NOISY_FIRES,
    }
    if stats.fires >= settings.STEWARD_NOISY_FIRES:
        message = f"fired {stats.fires} times (threshold {settings.STEWARD_NOISY_FIRES})"
    elif (
        stats.fires >= settings.STEWARD_NOISY_MEDIAN_MIN_FIRES
        and stats.fires >= settings.STEWARD_NOISY_MEDIAN_FACTOR * median
    ):
        message = f"fired {stats.fires} times"
    else:
        return None
    if median:
        evidence["factor"] = round(stats.fires / median, 1)
        message += f", {evidence['factor']:g}× its 4-week median of {median:g}"
    else:
        message += ", its 4-week median is 0"
    return RaisedFlag(stats.rule_id, Flag.NOISY, evidence, message)


def statistic_flags(stats: RuleStats, facts: RuleFacts | None) -> list[RaisedFlag]:
    """flapping, transient, ignored, unactionable, sleep_thief and stuck for one rule."""
    raised: list[RaisedFlag] = []
    rule_id, fires = stats.rule_id, stats.fires
    if stats.flaps >= settings.STEWARD_FLAPPING_FLAPS:
        window = _minutes(settings.STEWARD_FLAP_WINDOW_SECONDS)
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.FLAPPING,
                {"flaps": stats.flaps, "window_seconds": settings.STEWARD_FLAP_WINDOW_SECONDS},
                f"re-fired {stats.flaps} times within {window} of resolving",
            )
        )
    transient = stats.transient_ratio
    if (
        transient is not None
        and fires >= settings.STEWARD_TRANSIENT_MIN_EPISODES
        and transient >= settings.STEWARD_TRANSIENT_RATIO
    ):
        window = _minutes(settings.STEWARD_TRANSIENT_SECONDS)
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.TRANSIENT,
                {"episodes": fires, "transient_ratio": round(transient, 3)},
                f"{_pct(transient)} of {fires} episodes resolved by themselves within {window}",
            )
        )
    engaged = stats.engaged_ratio
    if (
        engaged is not None
        and fires >= settings.STEWARD_IGNORED_MIN_EPISODES
        and engaged < settings.STEWARD_IGNORED_RATIO
    ):
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.IGNORED,
                {"episodes": fires, "engaged_ratio": round(engaged, 3)},
                f"nobody looked at {fires - round(engaged * fires)} of {fires} episodes "
                f"({_pct(engaged)} engaged)",
            )
        )
    actionable = stats.actionable_ratio
    if (
        actionable is not None
        and stats.feedback_count >= settings.STEWARD_UNACTIONABLE_MIN_FEEDBACK
        and actionable < settings.STEWARD_UNACTIONABLE_RATIO
    ):
        count = stats.feedback_count
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.UNACTIONABLE,
                {"feedback": count, "actionable_ratio": round(actionable, 3)},
                f"{count - round(actionable * count)} of {count} on-call verdicts said "
                f"not actionable ({_pct(actionable)} actionable)",
            )
        )
    if stats.interruptions_sleep >= settings.STEWARD_SLEEP_THIEF_INTERRUPTIONS:
        zone = (facts.owner_team_timezone if facts else None) or "UTC"
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.SLEEP_THIEF,
                {"sleep_interruptions": stats.interruptions_sleep, "timezone": zone},
                f"paged {stats.interruptions_sleep} times during sleep hours (22–08 {zone})",
            )
        )
    if stats.longest_open_seconds >= settings.STEWARD_STUCK_SECONDS:
        days = stats.longest_open_seconds / 86400
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.STUCK,
                {"longest_open_seconds": stats.longest_open_seconds},
                f"an episode has been firing for {days:.1f} days without resolving",
            )
        )
    return raised


def duplicate_flags(pairs: list[Pair], names: dict[int, str]) -> list[RaisedFlag]:
    """One duplicate flag per rule, naming the other rule it co-fires with the most."""
    best: dict[int, Pair] = {}
    for pair in pairs:
        if (
            pair.episodes >= settings.STEWARD_DUPLICATE_MIN_EPISODES
            and pair.ratio >= settings.STEWARD_DUPLICATE_RATIO
        ):
            current = best.get(pair.rule_id)
            key = (pair.ratio, pair.co_fired, -pair.other_id)
            if current is None or key > (current.ratio, current.co_fired, -current.other_id):
                best[pair.rule_id] = pair
    window = _minutes(settings.STEWARD_COFIRING_WINDOW_SECONDS)
    return [
        RaisedFlag(
            rule_id,
            Flag.DUPLICATE,
            {
                "other_rule_id": pair.other_id,
                "other": names.get(pair.other_id, str(pair.other_id)),
                "co_fired": pair.co_fired,
                "episodes": pair.episodes,
                "ratio": round(pair.ratio, 3),
            },
            f"{pair.co_fired} of {pair.episodes} episodes started within {window} of "
            f"{names.get(pair.other_id, pair.other_id)} ({_pct(pair.ratio)})",
        )
        for rule_id, pair in sorted(best.items())
    ]


def catalog_flags(facts: RuleFacts, *, fires: int, as_of: datetime) -> list[RaisedFlag]:
    """unowned, no_runbook, stale_runbook, long_muted, silent, uncatalogued for one rule."""
    if not facts.in_catalog:
        return []
    rule_id = facts.rule_id
    raised: list[RaisedFlag] = []
    if facts.owner_team_name is None:
        raised.append(RaisedFlag(rule_id, Flag.UNOWNED, {"team": None}, "no owner team"))
    elif not facts.owner_team_has_members:
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.UNOWNED,
                {"team": facts.owner_team_name, "members": 0},
                f"owner team {facts.owner_team_name} has no members",
            )
        )
    if facts.runbook_title is None:
        raised.append(RaisedFlag(rule_id, Flag.NO_RUNBOOK, {}, "no runbook linked"))
    elif facts.runbook_review_due_at is None or facts.runbook_review_due_at < as_of:
        due = facts.runbook_review_due_at
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.STALE_RUNBOOK,
                {"runbook": facts.runbook_title, "review_due_at": due.isoformat() if due else None},
                f"runbook “{facts.runbook_title}” "
                + (f"was due for review on {due:%Y-%m-%d}" if due else "was never reviewed"),
            )
        )
    long_muted = _long_muted(facts, as_of=as_of)
    if long_muted is not None:
        raised.append(long_muted)
    if facts.status == AlertRule.Status.ACTIVE and facts.catalogued and not facts.fired_recently:
        days = settings.STEWARD_SILENT_DAYS
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.SILENT,
                {"days": days},
                f"has not fired in {days} days — is it tested?",
            )
        )
    if not facts.catalogued:
        raised.append(
            RaisedFlag(
                rule_id,
                Flag.UNCATALOGUED,
                {"fires": fires},
                (
                    f"fired {fires} times this week but was never registered in the catalog"
                    if fires
                    else "discovered firing but never registered in the catalog"
                ),
            )
        )
    return raised


def _long_muted(facts: RuleFacts, *, as_of: datetime) -> RaisedFlag | None:
    if facts.status != AlertRule.Status.MUTED or facts.muted_at is None:
        return None
    days = (as_of - facts.muted_at).days
    evidence: dict[str, Any] = {"muted_days": days, "muted_until": None}
    if facts.muted_until is None:
        return RaisedFlag(
            facts.rule_id,
            Flag.LONG_MUTED,
            evidence,
            f"muted {days} day{'' if days == 1 else 's'} ago with no end date",
        )
    if (as_of - facts.muted_at).total_seconds() > settings.STEWARD_LONG_MUTED_DAYS * 86400:
        evidence["muted_until"] = facts.muted_until.isoformat()
        return RaisedFlag(
            facts.rule_id,
            Flag.LONG_MUTED,
            evidence,
            f"muted for {days} days (limit {settings.STEWARD_LONG_MUTED_DAYS})",
        )
    return None
