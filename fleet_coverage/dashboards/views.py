from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alerts.selectors import firing_now
from core.choices import Layer
from fleet.links import investigate_links
from fleet.models import AISystem, Team
from fleet_coverage.dashboards import selectors
from fleet_coverage.scorecards.selectors import system_scorecard_context

# Rows of the overview's gap tables; the page says how many more there are.
GAP_LIMIT = 50
# Dashboards, traces and logs open on the last hours when no alert gives a window.
LINK_WINDOW = timedelta(hours=6)
FIRING_URL = "/alerts/?firing=1"


def overview(request: HttpRequest) -> HttpResponse:
    gaps = selectors.rules_with_gaps()
    teams = selectors.team_rows()
    context = {
        "teams": teams,
        "totals": {
            "systems": sum(r.systems for r in teams),
            "rules": sum(r.rules for r in teams),
            "teams": sum(1 for r in teams if r.team is not None),
        },
        "systems_missing_owner": list(selectors.systems_missing_owner()),
        "gap_rules": list(gaps[:GAP_LIMIT]),
        "gap_count": gaps.count(),
        "layer_gaps": selectors.layer_gaps(),
        "firing": firing_now(now=timezone.now(), more_url=FIRING_URL),
    }
    return render(request, "fleet/overview.html", context)


def fleet_list(request: HttpRequest) -> HttpResponse:
    filters = {
        name: request.GET.get(name, "").strip()
        for name in ("team", "kind", "tier", "lifecycle", "environment", "q")
    }
    systems = selectors.system_list(
        team=filters["team"],
        kind=filters["kind"],
        tier=filters["tier"],
        lifecycle=filters["lifecycle"],
        environment=filters["environment"],
        search=filters["q"],
    )
    context = {
        "systems": systems,
        "filters": filters,
        "teams": Team.objects.only("slug", "name"),
        "kinds": AISystem.Kind.choices,
        "tiers": AISystem.Tier.choices,
        "lifecycles": AISystem.Lifecycle.choices,
        "environments": selectors.environments(),
        "layers": Layer.choices,
    }
    return render(request, "fleet/list.html", context)


def system_detail(request: HttpRequest, slug: str) -> HttpResponse:
    system = selectors.system_detail(slug=slug).first()
    if system is None:
        raise Http404(f"No AI system {slug!r}.")
    groups = selectors.system_rules_by_layer(system)
    memberships = list(system.owner_team.memberships.all()) if system.owner_team else []
    end = timezone.now()
    # The system's slug fills both label names a rule may use for it.
    labels = {"model": system.slug, "system": system.slug}
    links = [
        (link.label, link.url)
        for link in investigate_links(system, start=end - LINK_WINDOW, end=end, labels=labels)
    ] + [
        (label, url)
        for label, url in (
            ("Repository", system.repository_url),
            ("Model registry", system.model_registry_url),
        )
        if url
    ]
    context = {
        "system": system,
        "links": links,
        "memberships": memberships,
        "leads": [m for m in memberships if m.role == m.Role.LEAD],
        "groups": groups,
        "missing_layers": selectors.missing_layers(groups),
        "firing": firing_now(now=end, system=system, more_url=FIRING_URL),
        **system_scorecard_context(system=system),
    }
    return render(request, "fleet/detail.html", context)
