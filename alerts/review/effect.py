"""Did the decisions work? Fires in the N weeks before a decision against the N weeks after.

N is 4, or fewer when the rule has less history before the decision or fewer complete weeks
have passed since. The decision's own week belongs to neither side. Two queries in all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from alerts.models import Decision, RuleWeek
from core.weeks import week_of, week_shift, weeks_back
from fleet.models import Team

WINDOW_WEEKS = 4
MIN_AGE = timedelta(weeks=2)
LOOKBACK_WEEKS = 26


@dataclass
class DecisionEffect:
    decision: Decision
    weeks: int
    before: int
    after: int

    @property
    def change(self) -> float | None:
        """Relative change in percent; None when there were no fires before."""
        return None if self.before == 0 else round(100 * (self.after - self.before) / self.before)

    @property
    def quieter(self) -> bool:
        return self.after < self.before


@dataclass
class KindSummary:
    kind: str
    label: str
    rules: int
    before: int
    after: int
    quieter: int

    @property
    def change(self) -> float | None:
        return None if self.before == 0 else round(100 * (self.after - self.before) / self.before)


def decision_effects(
    *, team: Team | None = None, now: datetime | None = None
) -> tuple[list[DecisionEffect], list[KindSummary]]:
    now = now or timezone.now()
    this_week = week_of(now)
    decisions = Decision.objects.filter(
        decided_at__lte=now - MIN_AGE, decided_at__gte=now - timedelta(weeks=LOOKBACK_WEEKS)
    ).select_related("rule", "rule__owner_team", "decided_by")
    if team is not None:
        decisions = decisions.filter(rule__owner_team=team)
    decisions_list = list(decisions.order_by("-decided_at", "-id"))
    rule_ids = {d.rule_id for d in decisions_list}
    first_week: dict[int, str] = {}
    fires: dict[int, dict[str, int]] = defaultdict(dict)
    earliest = week_shift(week_of(now - timedelta(weeks=LOOKBACK_WEEKS)), -WINDOW_WEEKS)
    rows = RuleWeek.objects.filter(rule_id__in=rule_ids, week__gte=earliest)
    for row in rows.values("rule_id", "week", "fires"):
        fires[row["rule_id"]][row["week"]] = row["fires"]
    firsts = RuleWeek.objects.filter(rule_id__in=rule_ids).values("rule_id")
    for first in firsts.annotate(first=Min("week")):
        first_week[first["rule_id"]] = first["first"]
    effects = [
        effect
        for d in decisions_list
        if (effect := _effect(d, fires[d.rule_id], first_week.get(d.rule_id), this_week))
    ]
    return effects, _summaries(effects)


def _effect(
    decision: Decision, fires: dict[str, int], first: str | None, this_week: str
) -> DecisionEffect | None:
    week = week_of(decision.decided_at)
    after_weeks = 0
    while after_weeks < WINDOW_WEEKS and week_shift(week, after_weeks + 1) < this_week:
        after_weeks += 1
    before_weeks = 0
    while (
        before_weeks < WINDOW_WEEKS
        and first is not None
        and week_shift(week, -(before_weeks + 1)) >= first
    ):
        before_weeks += 1
    n = min(after_weeks, before_weeks)
    if n == 0:
        return None
    before = sum(fires.get(w, 0) for w in weeks_back(week_shift(week, -1), n))
    after = sum(fires.get(w, 0) for w in weeks_back(week_shift(week, n), n))
    return DecisionEffect(decision, n, before, after)


def _summaries(effects: list[DecisionEffect]) -> list[KindSummary]:
    by_kind: dict[str, list[DecisionEffect]] = defaultdict(list)
    for effect in effects:
        by_kind[effect.decision.kind].append(effect)
    labels = dict(Decision.Kind.choices)
    return [
        KindSummary(
            kind=kind,
            label=str(labels[kind]),
            rules=len({e.decision.rule_id for e in group}),
            before=sum(e.before for e in group),
            after=sum(e.after for e in group),
            quieter=sum(1 for e in group if e.quieter),
        )
        for kind in Decision.Kind.values
        if (group := by_kind.get(kind))
    ]


# Kinds carried out at the source: a silence (mute) or a rule-file change (the others).
CARRIED_KINDS = (Decision.Kind.MUTE, Decision.Kind.PRUNE, Decision.Kind.RETIRE, Decision.Kind.TUNE)


def decisions_carried_out(
    *, team: Team | None = None, now: datetime | None = None, limit: int = 200
) -> list[Decision]:
    """Mute, prune, retire and tune decisions of the last 26 weeks, newest first, with what
    was carried out (silence and its state; the import that showed the change). One query."""
    now = now or timezone.now()
    decisions = Decision.objects.filter(
        kind__in=CARRIED_KINDS, decided_at__gte=now - timedelta(weeks=LOOKBACK_WEEKS)
    )
    if team is not None:
        decisions = decisions.filter(rule__owner_team=team)
    return list(
        decisions.select_related("rule", "rule__owner_team", "decided_by").order_by(
            "-decided_at", "-id"
        )[:limit]
    )
