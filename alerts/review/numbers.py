"""The review page's header: the week's numbers against the 4 weeks before, and the noise
trend. Two queries.

A running week is not compared as if it were complete: its counts are set against the 4-week
average pro rata of the share of the week that has passed, and its shares get no comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from alerts.catalog.ownership import owned_condition
from alerts.models import RuleWeek
from core.weeks import week_bounds, week_elapsed_share, weeks_back
from fleet.models import Team

TREND_WEEKS = 12
COMPARE_WEEKS = 4


@dataclass
class WeekNumber:
    label: str
    value: float
    baseline: float | None
    history: list[float]
    percent: bool = False
    # Share of the week that has passed: below 1.0 the value is "so far", not the week's.
    elapsed: float = 1.0

    @property
    def partial(self) -> bool:
        return self.elapsed < 1.0

    @property
    def compared_with(self) -> float | None:
        """The baseline this value is judged against: pro rata for a count in a running week;
        none for a share in a running week (a few days' share says little about the week)."""
        if self.baseline is None:
            return None
        if not self.partial:
            return self.baseline
        return None if self.percent else round(self.baseline * self.elapsed, 1)

    @property
    def delta(self) -> float | None:
        compared_with = self.compared_with
        return None if compared_with is None else self.value - compared_with

    @property
    def worse_when_up(self) -> bool:
        return not self.percent


def header_numbers(
    *, week: str, team: Team | None, now: datetime | None = None
) -> tuple[list[WeekNumber], list[tuple[str, float]]]:
    """The week's numbers against the mean of the previous 4 weeks, and the 12-week fire trend.

    Two queries. "Fresh runbook" is judged as of the end of each week (or now, if earlier).
    """
    now = now or timezone.now()
    elapsed = week_elapsed_share(week, now)
    trend_weeks = weeks_back(week, TREND_WEEKS)
    rows = RuleWeek.objects.filter(week__in=trend_weeks)
    if team is not None:
        rows = rows.filter(rule__owner_team=team)
    totals = {
        row["week"]: row
        for row in rows.values("week").annotate(
            fires=Sum("fires"),
            business=Sum("interruptions_business"),
            off=Sum("interruptions_off"),
            sleep=Sum("interruptions_sleep"),
        )
    }
    compare = weeks_back(week, COMPARE_WEEKS + 1)
    _, week_end = week_bounds(week)
    fresh_at = min(week_end, now)
    shares = {
        row["week"]: row
        for row in rows.filter(week__in=compare, fires__gt=0)
        .values("week")
        .annotate(
            firing=Count("id"),
            owned=Count("id", filter=owned_condition("rule__")),
            fresh=Count("id", filter=Q(rule__runbook__review_due_at__gte=fresh_at)),
            engaged=Count("id", filter=Q(engaged_ratio__gt=0)),
        )
    }

    def total(w: str, key: str) -> float:
        return float((totals.get(w) or {}).get(key) or 0)

    def share(w: str, key: str) -> float:
        row = shares.get(w)
        return round(100 * row[key] / row["firing"]) if row and row["firing"] else 0.0

    def number(label: str, get: Any, percent: bool = False) -> WeekNumber:
        history = [get(w) for w in compare]
        earlier = [v for w, v in zip(compare[:-1], history[:-1], strict=True) if w in totals]
        baseline = round(sum(earlier) / len(earlier), 1) if earlier else None
        return WeekNumber(label, history[-1], baseline, history, percent, elapsed)

    numbers = [
        number("Pages", lambda w: total(w, "business") + total(w, "off") + total(w, "sleep")),
        number("Business hours", lambda w: total(w, "business")),
        number("Off hours", lambda w: total(w, "off")),
        number("Sleep hours", lambda w: total(w, "sleep")),
        number("Owned", lambda w: share(w, "owned"), percent=True),
        number("Fresh runbook", lambda w: share(w, "fresh"), percent=True),
        number("Engaged with", lambda w: share(w, "engaged"), percent=True),
    ]
    trend = [(w.split("-")[1], total(w, "fires")) for w in trend_weeks]
    return numbers, trend
