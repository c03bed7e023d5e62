"""The rule files Steward generates from SLOs pass Steward's own lint gate (README "Lint
gate"): owner, severity, layer, summary, a runbook_url that resolves, `for:` on pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from alerts.lint.engine import lint_rule_files
from fleet.models import AISystem, Membership, Team
from fleet_coverage.models import SLO
from fleet_coverage.slo.rules import rule_file_yaml
from fleet_coverage.slo.selectors import slos_for_team
from fleet_coverage.slo.services import slo_save
from runbooks.models import Runbook
from tests.coverage.conftest import GOOD, TOTAL


def _lint(team: Team) -> list[str]:
    text = rule_file_yaml(list(slos_for_team(team=team)))
    report = lint_rule_files([(f"{team.slug}-slo-rules.yml", text)])
    assert report.alerts == 2 * SLO.objects.filter(system__owner_team=team).count()
    return [f"{v.alert} {v.check}: {v.message} ({v.status})" for v in report.violations]


@pytest.mark.django_db
@pytest.mark.parametrize("owner", ["system's team", "explicit"])
def test_a_teams_generated_slo_rules_pass_the_lint_gate(owner: str) -> None:
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    Membership.objects.create(team=team, user=User.objects.create_user("alice"), role="lead")
    Membership.objects.create(team=team, user=User.objects.create_user("bob"))
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook = Runbook.objects.create(slug="fraud-availability", title="Avail", owner_team=team)
    common = {"system": system, "runbook": runbook, "objective": Decimal("99.5")}
    if owner == "explicit":
        common["owner_team"] = team
    slo_save(
        slo=SLO(),
        name="Availability",
        slug="availability",
        good_query=GOOD,
        total_query=TOTAL,
        layer="infra",
        window_days=30,
        **common,
    )
    slo_save(
        slo=SLO(),
        name="Score quality",
        slug="score-quality",
        layer="ml",
        window_days=28,
        ratio_query="avg_over_time(fraud_score_within_bounds[$window])",
        **common,
    )
    assert _lint(team) == []


@pytest.mark.django_db
def test_an_slo_without_a_runbook_fails_the_gate_on_its_runbook() -> None:
    """The gate is not blind to generated files: the missing runbook is named."""
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    slo_save(
        slo=SLO(),
        system=system,
        name="Availability",
        slug="availability",
        good_query=GOOD,
        total_query=TOTAL,
        objective=Decimal("99.5"),
        layer="infra",
        window_days=30,
    )
    problems = _lint(team)
    assert problems and all(" runbook_url: " in p for p in problems), problems
