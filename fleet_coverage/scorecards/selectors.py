"""Coverage scorecards: which of the doctrine's safeguards each AI system has, and which not.

Scoring (100 points):

| check | points |
|---|---|
| at least one active alert on the `infra` layer | 15 |
| … on the `ml` layer | 15 |
| … on the `business` layer | 15 |
| at least one SLO | 20 |
| alerts owned (alerts.catalog.ownership: a team with members; share of its active alerts) | 15 |
| alerts with a fresh runbook (share) | 10 |
| alerts not flagged noisy 3+ weeks in a row (share) | 10 |

A system without alerts gets the per-alert points (nothing is unowned) but loses the layers.
Every query here is set-based: a constant number of queries whatever the fleet size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Avg, BooleanField, Count, ExpressionWrapper, QuerySet
from django.urls import reverse
from django.utils import timezone

from alerts.catalog.ownership import owned_condition, owner_team_id_expression
from alerts.models import AlertRule, Flag, RuleFlag
from core.choices import Layer
from core.weeks import week_of, week_shift, weeks_back
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO, ScorecardSnapshot
from runbooks.links import new_runbook_url

WEIGHTS = {
    "layer_infra": 15,
    "layer_ml": 15,
    "layer_business": 15,
    "slo": 20,
    "owned": 15,
    "runbooks": 10,
    "not_noisy": 10,
}
LAYERS = (Layer.INFRA, Layer.ML, Layer.BUSINESS)
NOISY_STREAK_WEEKS = 3
TREND_WEEKS = 12


@dataclass(frozen=True)
class MissingItem:
    code: str
    text: str
    fix_url: str
    fix_label: str


@dataclass
class Scorecard:
    system: AISystem
    score: int = 0
    rules: int = 0
    slos: int = 0
    missing: list[MissingItem] = field(default_factory=list)

    @property
    def missing_codes(self) -> list[str]:
        return [item.code for item in self.missing]


@dataclass
class TeamScore:
    team: Team | None
    systems: int
    score: int
    complete: int
    trend: list[tuple[str, float]] = field(default_factory=list)

    @property
    def trend_values(self) -> list[float]:
        return [value for _, value in self.trend]


def _url(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def systems_in_scope() -> QuerySet[AISystem]:
    """Systems the scorecard judges: everything not retired."""
    return AISystem.objects.exclude(lifecycle=AISystem.Lifecycle.RETIRED).select_related(
        "owner_team"
    )


def _rule_rows(systems: QuerySet[AISystem]) -> list[dict[str, Any]]:
    return list(
        AlertRule.objects.filter(system__in=systems.values("pk"), status=AlertRule.Status.ACTIVE)
        .annotate(
            owner_id=owner_team_id_expression(),
            owned=ExpressionWrapper(owned_condition(), output_field=BooleanField()),
        )
        .values(
            "id",
            "system_id",
            "alertname",
            "matchers",
            "layer",
            "owner_id",
            "owned",
            "runbook_id",
            "runbook__slug",
            "runbook__review_due_at",
        )
        .order_by("alertname", "id")
    )


def _noisy_streaks(systems: QuerySet[AISystem], week: str) -> dict[int, int]:
    """Rule id → consecutive weeks flagged noisy, ending this week (or last week when this
    week has not been evaluated yet)."""
    weeks = weeks_back(week, NOISY_STREAK_WEEKS + 2)
    flagged: dict[int, set[str]] = defaultdict(set)
    for rule_id, flag_week in RuleFlag.objects.filter(
        flag=Flag.NOISY, week__in=weeks, rule__system__in=systems.values("pk")
    ).values_list("rule_id", "week"):
        flagged[rule_id].add(flag_week)
    streaks = {}
    for rule_id, rule_weeks in flagged.items():
        cursor = week if week in rule_weeks else week_shift(week, -1)
        streak = 0
        while cursor in rule_weeks:
            streak += 1
            cursor = week_shift(cursor, -1)
        streaks[rule_id] = streak
    return streaks


def _layer_items(card: Scorecard, layers: set[str]) -> int:
    points = 0
    system = card.system
    for layer in LAYERS:
        if layer in layers:
            points += WEIGHTS[f"layer_{layer}"]
            continue
        card.missing.append(
            MissingItem(
                code=f"layer:{layer}",
                text=f"No active alert watches the {Layer(layer).label} layer.",
                fix_url=_url(
                    "/admin/alerts/alertrule/add/",
                    system=system.pk,
                    layer=layer,
                    owner_team=system.owner_team_id,
                ),
                fix_label=f"Add an alert on {layer}",
            )
        )
    return points


def _slo_items(card: Scorecard) -> int:
    if card.slos:
        return WEIGHTS["slo"]
    card.missing.append(
        MissingItem(
            code="slo",
            text="No SLO: page on error-budget burn instead of a threshold on every metric.",
            fix_url=_url(
                reverse("admin:coverage_slo_add"),
                system=card.system.pk,
                owner_team=card.system.owner_team_id,
            ),
            fix_label="Define an SLO",
        )
    )
    return 0


def _owner_item(row: dict[str, Any]) -> MissingItem | None:
    if row["owner_id"] is None:
        return MissingItem(
            code=f"unowned:{row['alertname']}",
            text=f"Alert {row['alertname']} has no owner team.",
            fix_url=f"/admin/alerts/alertrule/{row['id']}/change/",
            fix_label="Assign an owner",
        )
    if not row["owned"]:
        return MissingItem(
            code=f"unowned:{row['alertname']}",
            text=f"Alert {row['alertname']} is owned by a team with no members.",
            fix_url=f"/admin/fleet/team/{row['owner_id']}/change/",
            fix_label="Add team members",
        )
    return None


def _runbook_item(row: dict[str, Any], now: datetime) -> MissingItem | None:
    if row["runbook_id"] is None:
        return MissingItem(
            code=f"no_runbook:{row['alertname']}",
            text=f"Alert {row['alertname']} has no runbook.",
            fix_url=new_runbook_url(row["alertname"], row["matchers"]),
            fix_label="Write the runbook",
        )
    due = row["runbook__review_due_at"]
    if due is None or due < now:
        return MissingItem(
            code=f"stale_runbook:{row['alertname']}",
            text=f"The runbook of {row['alertname']} is overdue for review.",
            fix_url=f"/runbooks/{row['runbook__slug']}/",
            fix_label="Review the runbook",
        )
    return None


def _noisy_item(row: dict[str, Any], streak: int) -> MissingItem | None:
    if streak < NOISY_STREAK_WEEKS:
        return None
    return MissingItem(
        code=f"noisy:{row['alertname']}",
        text=f"Alert {row['alertname']} has been flagged noisy {streak} weeks in a row.",
        fix_url=f"/alerts/{row['id']}/",
        fix_label="Tune or prune it",
    )


def _rule_items(
    card: Scorecard, rows: list[dict[str, Any]], streaks: dict[int, int], now: datetime
) -> int:
    """Per-alert checks; each scores its weight times the share of alerts that pass."""
    if not rows:
        return WEIGHTS["owned"] + WEIGHTS["runbooks"] + WEIGHTS["not_noisy"]
    points = 0.0
    checks = (
        ("owned", _owner_item),
        ("runbooks", lambda row: _runbook_item(row, now)),
        ("not_noisy", lambda row: _noisy_item(row, streaks.get(row["id"], 0))),
    )
    for weight_key, check in checks:
        items = [item for row in rows if (item := check(row)) is not None]
        card.missing.extend(items)
        points += WEIGHTS[weight_key] * (len(rows) - len(items)) / len(rows)
    return round(points)


def scorecards_for(systems: QuerySet[AISystem], *, now: datetime | None = None) -> list[Scorecard]:
    """A scorecard per system, worst first, in four queries."""
    now = now or timezone.now()
    system_list = list(systems)
    rows = _rule_rows(systems)
    slo_counts = dict(
        SLO.objects.filter(system__in=systems.values("pk"))
        .values("system_id")
        .annotate(n=Count("id"))
        .values_list("system_id", "n")
    )
    streaks = _noisy_streaks(systems, week_of(now))
    rows_by_system: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        rows_by_system[row["system_id"]].append(row)
    cards = []
    for system in system_list:
        system_rows = rows_by_system.get(system.pk, [])
        card = Scorecard(system=system, rules=len(system_rows), slos=slo_counts.get(system.pk, 0))
        layers = {row["layer"] for row in system_rows}
        card.score = (
            _layer_items(card, layers)
            + _slo_items(card)
            + _rule_items(card, system_rows, streaks, now)
        )
        cards.append(card)
    cards.sort(key=lambda c: (c.score, c.system.name))
    return cards


def scorecard_for_system(*, system: AISystem, now: datetime | None = None) -> Scorecard:
    systems = AISystem.objects.filter(pk=system.pk).select_related("owner_team")
    return scorecards_for(systems, now=now)[0]


def _average(values: Iterable[int]) -> int:
    numbers = list(values)
    return round(sum(numbers) / len(numbers)) if numbers else 0


def team_scores(cards: list[Scorecard]) -> list[TeamScore]:
    """Average score per owner team (systems without a team form their own row), worst first."""
    grouped: dict[int | None, list[Scorecard]] = defaultdict(list)
    for card in cards:
        grouped[card.system.owner_team_id].append(card)
    scores = [
        TeamScore(
            team=team_cards[0].system.owner_team,
            systems=len(team_cards),
            score=_average(c.score for c in team_cards),
            complete=sum(1 for c in team_cards if not c.missing),
        )
        for team_cards in grouped.values()
    ]
    scores.sort(key=lambda t: (t.score, t.team.name if t.team else ""))
    return scores


def fleet_score(cards: list[Scorecard]) -> TeamScore:
    return TeamScore(
        team=None,
        systems=len(cards),
        score=_average(c.score for c in cards),
        complete=sum(1 for c in cards if not c.missing),
    )


def trend_weeks(now: datetime | None = None) -> list[str]:
    return weeks_back(week_of(now or timezone.now()), TREND_WEEKS)


def score_trend(
    systems: QuerySet[AISystem], *, now: datetime | None = None
) -> list[tuple[str, float]]:
    """Average snapshot score per week over the last 12 weeks (weeks without snapshots: 0
    points would lie, so they are left out)."""
    weeks = trend_weeks(now)
    averages = dict(
        ScorecardSnapshot.objects.filter(system__in=systems.values("pk"), week__in=weeks)
        .values("week")
        .annotate(avg=Avg("score"))
        .values_list("week", "avg")
    )
    return [(week[-3:], round(averages[week], 1)) for week in weeks if week in averages]


def team_trends(
    systems: QuerySet[AISystem], *, now: datetime | None = None
) -> dict[int | None, list[tuple[str, float]]]:
    """Owner team id → its weekly average snapshot score, in one query."""
    weeks = trend_weeks(now)
    by_team: dict[int | None, dict[str, float]] = defaultdict(dict)
    for team_id, week, avg in (
        ScorecardSnapshot.objects.filter(system__in=systems.values("pk"), week__in=weeks)
        .values("system__owner_team_id", "week")
        .annotate(avg=Avg("score"))
        .values_list("system__owner_team_id", "week", "avg")
    ):
        by_team[team_id][week] = round(avg, 1)
    return {
        team_id: [(week[-3:], values[week]) for week in weeks if week in values]
        for team_id, values in by_team.items()
    }


def system_score_trend(*, system: AISystem, now: datetime | None = None) -> list[float]:
    """The system's snapshot scores over the last 12 weeks, oldest first (for a sparkline)."""
    weeks = trend_weeks(now)
    scores = dict(
        ScorecardSnapshot.objects.filter(system=system, week__in=weeks).values_list("week", "score")
    )
    return [float(scores[week]) for week in weeks if week in scores]


def system_scorecard_context(*, system: AISystem) -> dict[str, Any]:
    """Context for the `fleet/_scorecard.html` include on /fleet/<slug>/ (two queries + one)."""
    return {
        "scorecard": scorecard_for_system(system=system),
        "scorecard_trend": system_score_trend(system=system),
    }
