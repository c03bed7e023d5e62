"""Read-side queries of the fleet pages: a constant number of queries whatever the fleet size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Prefetch, Q, QuerySet

from alerts.catalog.ownership import owned_condition, owner_team_id_expression
from alerts.models import AlertRule
from core.choices import Layer
from fleet.models import AISystem, Membership, Team

LAYERS = [Layer.INFRA, Layer.ML, Layer.BUSINESS]
# Rules that still alert: pruned and retired rules do not cover a layer any more.
LIVE_STATUSES = [AlertRule.Status.ACTIVE, AlertRule.Status.MUTED]


@dataclass
class TeamRow:
    team: Team | None
    members: int = 0
    systems: int = 0
    rules: int = 0
    rules_with_runbook: int = 0
    system_rules: int = 0
    system_rules_owned: int = 0

    @property
    def owned_share(self) -> float | None:
        """Share of the rules on this team's systems that are owned (alerts.catalog.ownership)."""
        return self.system_rules_owned / self.system_rules if self.system_rules else None

    @property
    def runbook_coverage(self) -> float | None:
        """Share of the rules this team owns that link a runbook."""
        return self.rules_with_runbook / self.rules if self.rules else None


def live_rules() -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(status__in=LIVE_STATUSES)


def team_rows() -> list[TeamRow]:
    """Per team: members, systems, rules, owned share and runbook coverage (four queries)."""
    rows: dict[int | None, TeamRow] = {
        t.pk: TeamRow(team=t, members=t.member_count)
        for t in Team.objects.annotate(member_count=Count("memberships"))
    }
    rows[None] = TeamRow(team=None)
    for team_id, count in (
        AISystem.objects.exclude(lifecycle=AISystem.Lifecycle.RETIRED)
        .values_list("owner_team_id")
        .annotate(n=Count("id"))
    ):
        rows[team_id].systems = count
    for team_id, total, with_runbook in (
        live_rules()
        .values_list(owner_team_id_expression())
        .annotate(n=Count("id"), r=Count("id", filter=Q(runbook__isnull=False)))
    ):
        rows[team_id].rules, rows[team_id].rules_with_runbook = total, with_runbook
    for team_id, total, owned in (
        live_rules()
        .filter(system__isnull=False)
        .values_list("system__owner_team_id")
        .annotate(n=Count("id"), o=Count("id", filter=owned_condition()))
    ):
        rows[team_id].system_rules, rows[team_id].system_rules_owned = total, owned
    unowned = rows.pop(None)
    result = list(rows.values())
    if unowned.systems or unowned.rules or unowned.system_rules:
        result.append(unowned)
    return result


def systems_missing_owner() -> QuerySet[AISystem]:
    return AISystem.objects.filter(owner_team__isnull=True).exclude(
        lifecycle=AISystem.Lifecycle.RETIRED
    )


def rules_with_gaps() -> QuerySet[AlertRule]:
    """Live rules that are not owned (alerts.catalog.ownership) or have no runbook, unowned first.

    Each carries `owned` (bool) and `owner` (the owner team, or None) for the page.
    """
    return (
        live_rules()
        .annotate(owned=ExpressionWrapper(owned_condition(), output_field=BooleanField()))
        .filter(Q(owned=False) | Q(runbook__isnull=True))
        .select_related("owner_team", "system__owner_team", "runbook")
        .order_by(F("owned").asc(), "alertname", "matchers_key")
    )


def layers_by_system() -> dict[int, set[str]]:
    """The layers each system has at least one live alert on (one query)."""
    covered: dict[int, set[str]] = defaultdict(set)
    for system_id, layer in (
        live_rules()
        .filter(system__isnull=False)
        .exclude(layer="")
        .values_list("system_id", "layer")
        .distinct()
    ):
        covered[system_id].add(layer)
    return covered


@dataclass
class CoverageRow:
    system: AISystem
    missing: list[str] = field(default_factory=list)


def layer_gaps() -> list[CoverageRow]:
    """Non-retired systems without an alert on at least one of the three layers."""
    covered = layers_by_system()
    rows = []
    for system in AISystem.objects.exclude(lifecycle=AISystem.Lifecycle.RETIRED).select_related(
        "owner_team"
    ):
        missing = [label for value, label in Layer.choices if value not in covered[system.pk]]
        if missing:
            rows.append(CoverageRow(system=system, missing=missing))
    return rows


def system_list(
    *,
    team: str = "",
    kind: str = "",
    tier: str = "",
    lifecycle: str = "",
    environment: str = "",
    search: str = "",
) -> QuerySet[AISystem]:
    """Systems for the fleet list, annotated with live rule counts per layer.

    `team="none"` selects systems without an owner team.
    """
    live = Q(alert_rules__status__in=LIVE_STATUSES)
    qs = AISystem.objects.select_related("owner_team").annotate(
        rule_total=Count("alert_rules", filter=live),
        rules_no_runbook=Count("alert_rules", filter=live & Q(alert_rules__runbook__isnull=True)),
        **{
            f"layer_{value}": Count("alert_rules", filter=live & Q(alert_rules__layer=value))
            for value in Layer.values
        },
    )
    if team == "none":
        qs = qs.filter(owner_team__isnull=True)
    elif team:
        qs = qs.filter(owner_team__slug=team)
    for name, value in (("kind", kind), ("tier", tier), ("lifecycle", lifecycle)):
        if value:
            qs = qs.filter(**{name: value})
    if environment:
        qs = qs.filter(environment=environment)
    if search:
        qs = qs.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(description__icontains=search)
        )
    return qs


def environments() -> list[str]:
    return list(
        AISystem.objects.order_by("environment").values_list("environment", flat=True).distinct()
    )


def system_detail(*, slug: str) -> QuerySet[AISystem]:
    """One system with its owner team's memberships (leads first) prefetched."""
    return (
        AISystem.objects.filter(slug=slug)
        .select_related("owner_team")
        .prefetch_related(
            Prefetch(
                "owner_team__memberships",
                queryset=Membership.objects.select_related("user").order_by(
                    "-role", "user__username"
                ),
            )
        )
    )


@dataclass
class LayerGroup:
    value: str
    label: str
    rules: list[AlertRule]


def system_rules_by_layer(system: AISystem) -> list[LayerGroup]:
    """The system's rules grouped by layer (infra, ml, business, then unclassified)."""
    rules = (
        AlertRule.objects.filter(system=system)
        .select_related("owner_team", "system__owner_team", "runbook")
        .annotate(owned=ExpressionWrapper(owned_condition(), output_field=BooleanField()))
        .order_by("alertname", "matchers_key")
    )
    grouped: dict[str, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        grouped[rule.layer].append(rule)
    groups = [LayerGroup(value, str(label), grouped[value]) for value, label in Layer.choices]
    if grouped[""]:
        groups.append(LayerGroup("", "No layer set", grouped[""]))
    return groups


def missing_layers(groups: list[LayerGroup]) -> list[str]:
    """Layers with no live alert at all."""
    return [
        g.label for g in groups if g.value and not any(r.status in LIVE_STATUSES for r in g.rules)
    ]
