"""Pages for SLOs and coverage scorecards (login required by the middleware)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from fleet.models import AISystem, Team
from fleet_coverage.scorecards.selectors import (
    fleet_score,
    score_trend,
    scorecards_for,
    systems_in_scope,
    team_scores,
    team_trends,
)
from fleet_coverage.slo.rules import rule_file_yaml
from fleet_coverage.slo.selectors import slos_for_team


def slo_rules_response(team: Team) -> HttpResponse:
    response = HttpResponse(
        rule_file_yaml(list(slos_for_team(team=team))), content_type="application/yaml"
    )
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-slo-rules.yml"'
    return response


@require_GET
def team_slo_rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's generated Prometheus rule file, to drop into `rule_files:`."""
    return slo_rules_response(get_object_or_404(Team, slug=slug))


@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    """Fleet-wide, per-team and per-system coverage, worst first."""
    systems = systems_in_scope()
    team_slug = request.GET.get("team", "")
    kind = request.GET.get("kind", "")
    if team_slug:
        systems = systems.filter(owner_team__slug=team_slug)
    if kind in AISystem.Kind.values:
        systems = systems.filter(kind=kind)
    cards = scorecards_for(systems)
    if request.GET.get("incomplete"):
        cards = [card for card in cards if card.missing]
    teams = team_scores(cards)
    trends = team_trends(systems)
    for row in teams:
        row.trend = trends.get(row.team.pk if row.team else None, [])
    context = {
        "fleet": fleet_score(cards),
        "trend": score_trend(systems),
        "teams": teams,
        "cards": cards,
        "all_teams": Team.objects.only("slug", "name"),
        "kinds": AISystem.Kind.choices,
        "selected": {"team": team_slug, "kind": kind, "incomplete": request.GET.get("incomplete")},
    }
    return render(request, "fleet/scorecards.html", context)
