"""How a suggestion reads on the review page, and the rule-file snippet that applies it."""

from __future__ import annotations

from datetime import timedelta

import yaml

from alerts.models import AlertRule
from alerts.replay.engine import Outcome, Suggestion
from core.durations import duration_format

ZERO = timedelta(0)


def change_words(rule: AlertRule, outcome: Outcome) -> str:
    """ "adding `for: 10m`", "raising `for` from 1m to 10m and adding `keep_firing_for: 5m`"."""
    parts = []
    old_for = rule.for_duration or ZERO
    if outcome.for_ != old_for:
        new = duration_format(outcome.for_)
        parts.append(
            f"adding `for: {new}`"
            if old_for == ZERO
            else f"raising `for` from {duration_format(old_for)} to {new}"
        )
    old_keep = rule.keep_firing_for or ZERO
    if outcome.keep_firing_for != old_keep:
        new = duration_format(outcome.keep_firing_for)
        parts.append(
            f"adding `keep_firing_for: {new}`"
            if old_keep == ZERO
            else f"changing `keep_firing_for` from {duration_format(old_keep)} to {new}"
        )
    return " and ".join(parts) or "keeping the rule as it is"


def suggestion_text(rule: AlertRule, suggestion: Suggestion, *, weeks: int) -> str:
    """ "adding `for: 10m` would have removed 41 of 48 pages last 4 weeks (7 nights), delayed
    nothing that anyone acted on"."""
    nights = suggestion.nights_removed
    night_words = f" ({nights} night{'s' if nights != 1 else ''})" if nights else ""
    acted = suggestion.change.acted_delay_max
    delayed = (
        "delayed nothing that anyone acted on"
        if acted == ZERO
        else f"delayed what anyone acted on by at most {duration_format(acted)}"
    )
    return (
        f"{change_words(rule, suggestion.change)} would have removed {suggestion.removed} of "
        f"{suggestion.current.noise} {suggestion.unit} last {weeks} week{'s' if weeks != 1 else ''}"
        f"{night_words}, {delayed}"
    )


def rule_snippet(rule: AlertRule, outcome: Outcome) -> str:
    """The rule as it would read in its rule file with the change."""
    entry: dict[str, object] = {"alert": rule.alertname}
    if rule.expression:
        entry["expr"] = rule.expression
    if outcome.for_ > ZERO:
        entry["for"] = duration_format(outcome.for_)
    if outcome.keep_firing_for > ZERO:
        entry["keep_firing_for"] = duration_format(outcome.keep_firing_for)
    if rule.labels:
        entry["labels"] = dict(rule.labels)
    return yaml.safe_dump([entry], sort_keys=False, allow_unicode=True).rstrip()
