"""One definition of "who owns this alert" and "owned" (alerts.catalog.ownership), used everywhere.

The overview, the ownership API, the catalog flags and the scorecards must agree, in
particular on a team without members (owner, but not owned) and on a rule without a team
of its own (its system's team owns it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.catalog.ownership import rule_owner_team
from alerts.models import AlertRule, Flag
from alerts.noise.catalog import rule_facts
from alerts.noise.flags import catalog_flags
from fleet.models import AISystem, Membership, Team
from fleet_coverage.dashboards.selectors import rules_with_gaps, team_rows
from fleet_coverage.scorecards.selectors import scorecard_for_system
from tests.api_helpers import token_client

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def ghosts() -> tuple[Team, AISystem, list[AlertRule]]:
    """A team nobody is in; it owns a system, one rule directly and one through the system."""
    team = Team.objects.create(slug="ghosts", name="Ghosts")
    system = AISystem.objects.create(slug="ghost-model", name="Ghost model", owner_team=team)
    own = AlertRule.objects.create(
        alertname="GhostLatency", owner_team=team, system=system, layer="infra"
    )
    inherited = AlertRule.objects.create(alertname="GhostDrift", system=system, layer="ml")
    return team, system, [own, inherited]


def _views(system: AISystem, team: Team) -> dict[str, object]:
    """What each consumer says about the two rules: owned or not."""
    api = token_client("read")
    statuses = {
        rule.alertname: api.get(f"/api/v1/ownership/?alertname={rule.alertname}").json()["status"]
        for rule in AlertRule.objects.filter(system=system)
    }
    facts = rule_facts(as_of=NOW)
    flagged = {
        facts[rule.pk].name
        for rule in AlertRule.objects.filter(system=system)
        if any(f.flag == Flag.UNOWNED for f in catalog_flags(facts[rule.pk], fires=0, as_of=NOW))
    }
    card = scorecard_for_system(system=system, now=NOW)
    row = next(r for r in team_rows() if r.team == team)
    return {
        "api": statuses,
        "flags": flagged,
        "scorecard": sorted(c for c in card.missing_codes if c.startswith("unowned:")),
        "overview_share": row.owned_share,
        "overview_gaps": sorted(r.alertname for r in rules_with_gaps() if not r.owned),
        "queryset_unowned": sorted(AlertRule.objects.unowned().values_list("alertname", flat=True)),
        "queryset_owned": sorted(AlertRule.objects.owned().values_list("alertname", flat=True)),
    }


def test_a_team_without_members_owns_nothing_anywhere(
    ghosts: tuple[Team, AISystem, list[AlertRule]],
) -> None:
    team, system, rules = ghosts
    assert [rule_owner_team(rule) for rule in rules] == [team, team]
    assert _views(system, team) == {
        "api": {"GhostLatency": "unowned", "GhostDrift": "unowned"},
        "flags": {"GhostLatency", "GhostDrift"},
        "scorecard": ["unowned:GhostDrift", "unowned:GhostLatency"],
        "overview_share": 0.0,
        "overview_gaps": ["GhostDrift", "GhostLatency"],
        "queryset_unowned": ["GhostDrift", "GhostLatency"],
        "queryset_owned": [],
    }


def test_one_member_makes_both_rules_owned_everywhere(
    ghosts: tuple[Team, AISystem, list[AlertRule]], make_user: Callable[..., User]
) -> None:
    team, system, _ = ghosts
    Membership.objects.create(team=team, user=make_user("casper"))
    assert _views(system, team) == {
        "api": {"GhostLatency": "owned", "GhostDrift": "owned"},
        "flags": set(),
        "scorecard": [],
        "overview_share": 1.0,
        "overview_gaps": [],
        "queryset_unowned": [],
        "queryset_owned": ["GhostDrift", "GhostLatency"],
    }


def test_the_rule_team_wins_over_the_system_team(
    ghosts: tuple[Team, AISystem, list[AlertRule]], team: Team, member: User
) -> None:
    """A rule another team took is that team's, whatever the system's team."""
    ghost_team, system, (own, inherited) = ghosts
    AlertRule.objects.filter(pk=inherited.pk).update(owner_team=team)
    inherited.refresh_from_db()
    assert rule_owner_team(inherited) == team
    views = _views(system, ghost_team)
    assert views["api"] == {"GhostLatency": "unowned", "GhostDrift": "owned"}
    assert views["flags"] == {"GhostLatency"}
    assert views["scorecard"] == ["unowned:GhostLatency"]
    assert views["overview_share"] == 0.5  # Ghosts' system: one of its two rules is owned


def test_overview_page_and_on_call_page_show_the_empty_team(
    client: Client, ghosts: tuple[Team, AISystem, list[AlertRule]], member: User
) -> None:
    client.force_login(member)
    overview = client.get("/").content.decode()
    assert "Owned share" in overview
    assert "100%" not in overview  # the bug: "Owned share 100 %" for a team without members
    oncall = client.get("/runbooks/for/GhostDrift/").content.decode()
    assert "Ghosts" in oncall and "team has no members" in oncall
    assert "Nobody owns this alert" not in oncall
