from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertRule
from fleet.models import Team
from runbooks.models import Runbook

RULES = Path(__file__).parent / "fixtures" / "rules"


@pytest.fixture
def catalog(team: Team, member: object) -> None:
    runbook = Runbook.objects.create(slug="latency", title="Latency", owner_team=team)
    Runbook.objects.create(slug="drift", title="Drift", owner_team=team)
    AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=team, runbook=runbook)
    AlertRule.objects.create(alertname="FeatureDriftHigh", owner_team=team, layer="ml")


def test_good_file_exits_zero(catalog: None) -> None:
    out = StringIO()
    call_command("lint_rules", str(RULES / "good.yml"), stdout=out)
    assert "steward lint OK" in out.getvalue()


def test_violations_exit_one_with_json(catalog: None) -> None:
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("lint_rules", str(RULES / "bad.yml"), "--format", "json", stdout=out)
    assert exit_info.value.code == 1
    assert json.loads(out.getvalue())["errors"] == 12


def test_several_files_github_format(catalog: None) -> None:
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "lint_rules",
            str(RULES / "good.yml"),
            str(RULES / "broken.yml"),
            "--format=github",
            stdout=out,
        )
    assert f"::error file={RULES / 'broken.yml'},line=6,title=steward lint%3A yaml::" in (
        out.getvalue()
    )


def test_missing_file_is_a_usage_error(db: None) -> None:
    with pytest.raises(CommandError) as error:
        call_command("lint_rules", "/nonexistent/rules.yml")
    assert error.value.returncode == 2


def test_forecast_without_prometheus_is_a_usage_error(db: None, settings: object) -> None:
    settings.PROMETHEUS_URL = ""  # type: ignore[attr-defined]
    with pytest.raises(CommandError) as error:
        call_command("lint_rules", str(RULES / "good.yml"), "--forecast")
    assert error.value.returncode == 2


def test_exit_codes_from_the_command_line(tmp_path: Path) -> None:
    """The real process: 2 for usage errors (argparse and ours)."""
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": ""}
    bad_format = subprocess.run(
        [sys.executable, str(manage), "lint_rules", "x.yml", "--format", "xml"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert bad_format.returncode == 2
    missing = subprocess.run(
        [sys.executable, str(manage), "lint_rules", str(tmp_path / "none.yml")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert missing.returncode == 2
