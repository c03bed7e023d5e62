"""Generated burn-rate rules against the SRE workbook's numbers ("Alerting on SLOs", table 5-8)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import override_settings

from fleet.models import Team
from fleet_coverage.models import SLO
from fleet_coverage.slo.rules import burn_rate, rule_file_yaml, slo_rule_group
from tests.conftest import require_service

WORKBOOK_30D = {("page", "1h", "5m"): "14.4", ("page", "6h", "30m"): "6"}
WORKBOOK_30D |= {("ticket", "1d", "2h"): "3", ("ticket", "3d", "6h"): "1"}
SCALED_28D = {("page", "1h", "5m"): "13.44", ("page", "6h", "30m"): "5.6"}
SCALED_28D |= {("ticket", "1d", "2h"): "2.8", ("ticket", "3d", "6h"): "0.9333333"}
_CONDITION = re.compile(
    r"slo:sli_error:ratio_rate(\w+)\{slo=\"availability\",system=\"fraud-scorer\"\} "
    r"> \(([\d.]+) \* ([\d.]+)\)\nand\n  slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \* "
)


def _alerts(slo: SLO) -> dict[str, dict[str, Any]]:
    rules = slo_rule_group(slo)["rules"]
    return {rule["labels"]["severity"]: rule for rule in rules if "alert" in rule}


def _conditions(rule: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    found = {}
    for long, rate, budget, short, rate_again in _CONDITION.findall(rule["expr"]):
        assert rate == rate_again
        assert budget == "0.005"
        found[(rule["labels"]["severity"], long, short)] = rate
    return found


@pytest.mark.parametrize(("window_days", "expected"), [(30, WORKBOOK_30D), (28, SCALED_28D)])
def test_burn_rate_thresholds_and_windows_match_the_workbook(
    make_slo: Callable[..., SLO], window_days: int, expected: dict[tuple[str, str, str], str]
) -> None:
    alerts = _alerts(make_slo(window_days=window_days))
    assert _conditions(alerts["page"]) | _conditions(alerts["ticket"]) == expected


@pytest.mark.parametrize(
    ("fraction", "long_window", "rate_30d"),
    [("0.02", "1h", 14.4), ("0.05", "6h", 6), ("0.10", "1d", 3), ("0.10", "3d", 1)],
)
def test_28_day_rates_consume_the_same_budget_fraction(
    fraction: str, long_window: str, rate_30d: float
) -> None:
    rate_28 = burn_rate(fraction=Decimal(fraction), window_days=28, long_window=long_window)
    assert float(rate_28) == pytest.approx(rate_30d * 28 / 30)
    hours = {"1h": 1, "6h": 6, "1d": 24, "3d": 72}[long_window]
    # Burning at the threshold for the long window spends exactly the fraction of the budget.
    assert rate_28 * hours / (28 * 24) == Decimal(fraction)


def test_recording_rules_cover_every_window_with_slo_and_system_labels(
    make_slo: Callable[..., SLO],
) -> None:
    rules = slo_rule_group(make_slo())["rules"]
    records = {rule["record"]: rule for rule in rules if "record" in rule}
    assert set(records) == {
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    }
    five = records["slo:sli_error:ratio_rate5m"]
    assert five["labels"] == {"slo": "availability", "system": "fraud-scorer"}
    assert "[5m]" in five["expr"] and "$window" not in five["expr"]
    assert five["expr"].startswith("1 - (")
    assert "[3d]" in records["slo:sli_error:ratio_rate3d"]["expr"]


def test_ratio_sli_becomes_one_minus_the_ratio(make_slo: Callable[..., SLO]) -> None:
    slo = make_slo(good_query="", total_query="", ratio_query="avg_over_time(up[$window])")
    first = slo_rule_group(slo)["rules"][0]
    assert first["expr"] == "1 - (\n  avg_over_time(up[5m])\n)"


@override_settings(STEWARD_BASE_URL="https://steward.example.com")
def test_alerts_satisfy_the_lint_gate(make_slo: Callable[..., SLO], team: Team) -> None:
    """Every check of the lint gate (README "Lint gate"): team of an existing team, allowed
    severity, layer, summary, runbook_url into Steward's /runbooks/for/<alertname>/, page
    `for` ≥ 2m."""
    alerts = _alerts(make_slo(layer="ml"))
    for severity, rule in alerts.items():
        labels, annotations = rule["labels"], rule["annotations"]
        assert Team.objects.filter(slug=labels["team"]).exists()
        assert labels["severity"] == severity
        assert labels["layer"] == "ml"
        assert labels["slo"] == "availability" and labels["system"] == "fraud-scorer"
        assert annotations["summary"] and annotations["description"]
        assert annotations["runbook_url"] == (
            f"https://steward.example.com/runbooks/for/{rule['alert']}/"
            "?slo=availability&system=fraud-scorer"
        )
    assert alerts["page"]["for"] == "2m"
    assert alerts["page"]["alert"] == "FraudScorerAvailabilityBudgetBurnFast"
    assert alerts["ticket"]["alert"] == "FraudScorerAvailabilityBudgetBurnSlow"


def test_rule_file_is_plain_yaml_with_one_group_per_slo(make_slo: Callable[..., SLO]) -> None:
    text = rule_file_yaml([make_slo(), make_slo(slug="latency", name="Latency")])
    assert "&id" not in text and "*id" not in text
    groups = yaml.safe_load(text)["groups"]
    assert [g["name"] for g in groups] == [
        "slo:fraud-scorer:availability",
        "slo:fraud-scorer:latency",
    ]


@pytest.mark.parametrize("window_days", [28, 30])
def test_generated_file_passes_promtool_check_rules(
    make_slo: Callable[..., SLO], tmp_path: Path, window_days: int
) -> None:
    promtool = shutil.which("promtool")
    require_service(promtool is not None, "promtool (Debian package prometheus)")
    assert promtool is not None
    slos = [
        make_slo(window_days=window_days),
        make_slo(
            slug="freshness",
            name="Feature freshness",
            good_query="",
            total_query="",
            ratio_query='avg_over_time(feature_fresh{pipeline="fraud"}[$window])',
        ),
    ]
    path = tmp_path / "slo-rules.yml"
    path.write_text(rule_file_yaml(slos))
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 18 rules found" in result.stdout


def test_team_rule_file_holds_the_teams_slos_of_live_systems(
    make_slo: Callable[..., SLO], team: Team
) -> None:
    from fleet.models import AISystem
    from fleet_coverage.slo.selectors import slos_for_team

    make_slo()
    retired = AISystem.objects.create(slug="old", name="Old", owner_team=team, lifecycle="retired")
    make_slo(system=retired)
    other = Team.objects.create(slug="recs", name="Recs")
    make_slo(slug="handed-over", name="Handed over", owner_team=other)
    assert [s.slug for s in slos_for_team(team=team)] == ["availability"]
    assert [s.slug for s in slos_for_team(team=other)] == ["handed-over"]
