"""Read side of the weekly review. Every function runs a fixed number of queries, whatever the
number of flagged rules: rows are fetched in bulk and joined in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.models import AlertRule, Decision, Flag, Review, RuleFlag, RuleWeek
from alerts.review.scoring import BAD_FLAGS, FLAG_WEIGHTS, shortfall_score
from core.weeks import weeks_back
from fleet.models import Membership, Team

SPARKLINE_WEEKS = 8
FLAG_LABELS = dict(Flag.choices)


@dataclass
class AgendaFlag:
    flag: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    new_since_start: bool = False

    @property
    def label(self) -> str:
        return str(FLAG_LABELS.get(self.flag, self.flag))

    @property
    def tone(self) -> str:
        return "bad" if self.flag in BAD_FLAGS else "warn"


@dataclass
class AgendaItem:
    rule: AlertRule
    score: float
    flags: list[AgendaFlag]
    fires_by_week: list[int]
    stats: RuleWeek | None
    runbook_state: str
    last_decision: Decision | None = None
    decisions_this_week: list[Decision] = field(default_factory=list)
    new_since_start: bool = False
    rank: int = 0
    # Filled by the page: whether the viewer may decide for this rule, the decision form when
    # the viewer opened it, and confirmations to show at the item.
    can_decide: bool = False
    form: Any = None
    notices: list[Any] = field(default_factory=list)
    suggestion: Any = None  # alerts.replay.views.SuggestionView for noisy/flapping/transient

    @property
    def team_name(self) -> str:
        return self.rule.owner_team.name if self.rule.owner_team else "Unowned"


def teams_mine_first(user: Any) -> list[Team]:
    """Every team for the team switcher, the user's own first (each with `is_mine`). One query."""
    user_id = user.pk if user is not None and user.is_authenticated else 0
    mine = Membership.objects.filter(team=OuterRef("pk"), user_id=user_id)
    return list(Team.objects.annotate(is_mine=Exists(mine)).order_by("-is_mine", "name"))


def home_team(teams: list[Team]) -> Team | None:
    """The team whose review a user lands on: their first team (by name), if any."""
    return next((team for team in teams if getattr(team, "is_mine", False)), None)


def _rules_flagged(week: str, team: Team | None) -> QuerySet[RuleFlag]:
    flags = RuleFlag.objects.filter(week=week)
    if team is not None:
        flags = flags.filter(rule__owner_team=team)
    return flags


def runbook_state(rule: AlertRule, now: datetime) -> str:
    if rule.runbook is None:
        return "none"
    return "stale" if rule.runbook.is_stale(now=now) else "fresh"


def review_for(week: str, team: Team | None) -> Review | None:
    return (
        Review.objects.filter(week=week, team=team)
        .select_related("team", "started_by", "closed_by")
        .prefetch_related("attendees")
        .first()
    )


def agenda_items(
    *, week: str, team: Team | None, review: Review | None = None, now: datetime | None = None
) -> list[AgendaItem]:
    """The week's flagged rules, worst first (see alerts.review.scoring).

    Once the review has started, its frozen agenda fixes which rules appear, in which order and
    with which flags; flags and rules that appeared after the start are added and marked new.
    Six queries, whatever the number of rules.
    """
    now = now or timezone.now()
    flag_rows = list(_rules_flagged(week, team).values("rule_id", "flag", "message", "evidence"))
    frozen: list[dict[str, Any]] = review.agenda if review and review.started_at else []
    rule_ids = {row["rule_id"] for row in flag_rows} | {entry["rule"] for entry in frozen}
    current: dict[int, list[AgendaFlag]] = defaultdict(list)
    for row in flag_rows:
        current[row["rule_id"]].append(
            AgendaFlag(row["flag"], row["message"], row["evidence"] or {})
        )
    for flags in current.values():
        flags.sort(key=lambda f: (-FLAG_WEIGHTS.get(f.flag, 0), f.flag))  # worst reason first
    rules = {
        rule.pk: rule
        for rule in AlertRule.objects.filter(pk__in=rule_ids).select_related(
            "owner_team", "runbook", "system"
        )
    }
    spark_weeks = weeks_back(week, SPARKLINE_WEEKS)
    fires: dict[int, dict[str, int]] = defaultdict(dict)
    # Tuples for the sparklines, model instances only for the week under review: building
    # 8 model instances per rule dominated the page time with 1,000 flagged rules.
    spark_rows = RuleWeek.objects.filter(rule_id__in=rule_ids, week__in=spark_weeks)
    for rule_id, row_week, row_fires in spark_rows.values_list("rule_id", "week", "fires"):
        fires[rule_id][row_week] = row_fires
    stats = {row.rule_id: row for row in RuleWeek.objects.filter(rule_id__in=rule_ids, week=week)}
    last, this_week = _decisions_by_rule(rule_ids, week)

    def item(rule_id: int, flags: list[AgendaFlag]) -> AgendaItem:
        rule = rules[rule_id]
        row = stats.get(rule_id)
        score = shortfall_score(
            flags=[f.flag for f in flags],
            severity=rule.severity,
            fires=row.fires if row else 0,
            sleep_interruptions=row.interruptions_sleep if row else 0,
            other_interruptions=(row.interruptions_business + row.interruptions_off) if row else 0,
        )
        return AgendaItem(
            rule=rule,
            score=score,
            flags=flags,
            fires_by_week=[fires[rule_id].get(w, 0) for w in spark_weeks],
            stats=row,
            runbook_state=runbook_state(rule, now),
            last_decision=last.get(rule_id),
            decisions_this_week=this_week.get(rule_id, []),
        )

    items: list[AgendaItem] = []
    if frozen:
        items = _frozen_items(frozen, current, rules, item)
    else:
        items = [item(rule_id, flags) for rule_id, flags in current.items() if rule_id in rules]
        items.sort(key=lambda i: (-i.score, i.rule.alertname, i.rule.pk))
    for rank, entry in enumerate(items, start=1):
        entry.rank = rank
    return items


def _frozen_items(
    frozen: list[dict[str, Any]],
    current: dict[int, list[AgendaFlag]],
    rules: dict[int, AlertRule],
    item: Any,
) -> list[AgendaItem]:
    """The agenda as frozen at start, then the rules flagged only after the start."""
    items: list[AgendaItem] = []
    seen: set[int] = set()
    for entry in frozen:
        rule_id = entry["rule"]
        if rule_id not in rules:
            continue  # the rule was deleted since
        seen.add(rule_id)
        flags = [
            AgendaFlag(f["flag"], f["message"], f.get("evidence") or {}) for f in entry["flags"]
        ]
        known = {f.flag for f in flags}
        flags += [
            AgendaFlag(f.flag, f.message, f.evidence, new_since_start=True)
            for f in current.get(rule_id, [])
            if f.flag not in known
        ]
        built = item(rule_id, flags)
        built.score = entry["score"]
        items.append(built)
    late = [
        item(rule_id, [AgendaFlag(f.flag, f.message, f.evidence, True) for f in flags])
        for rule_id, flags in current.items()
        if rule_id not in seen and rule_id in rules
    ]
    late.sort(key=lambda i: (-i.score, i.rule.alertname, i.rule.pk))
    for entry_item in late:
        entry_item.new_since_start = True
    return items + late


def _decisions_by_rule(
    rule_ids: set[int], week: str
) -> tuple[dict[int, Decision], dict[int, list[Decision]]]:
    """The last decision before this week, and this week's decisions, per rule (one query)."""
    last: dict[int, Decision] = {}
    this_week: dict[int, list[Decision]] = defaultdict(list)
    decisions = Decision.objects.filter(rule_id__in=rule_ids, week__lte=week).select_related(
        "decided_by", "owner", "reassign_to"
    )
    for decision in decisions.order_by("-decided_at", "-id"):
        if decision.week == week:
            this_week[decision.rule_id].append(decision)
        elif decision.rule_id not in last:
            last[decision.rule_id] = decision
    return last, dict(this_week)


def agenda_groups(items: list[AgendaItem]) -> list[tuple[str, list[AgendaItem]]]:
    """Items grouped by owner team, teams ordered by their worst item; ranks kept."""
    groups: dict[str, list[AgendaItem]] = {}
    for entry in items:
        groups.setdefault(entry.team_name, []).append(entry)
    return list(groups.items())


def open_actions(*, week: str, team: Team | None) -> QuerySet[Decision]:
    """Decisions from earlier weeks not yet marked done, oldest first."""
    actions = Decision.objects.filter(done_at__isnull=True, week__lt=week)
    if team is not None:
        actions = actions.filter(Q(rule__owner_team=team) | Q(review__team=team))
    return actions.select_related(
        "rule", "rule__owner_team", "owner", "decided_by", "reassign_to"
    ).order_by("decided_at", "id")
