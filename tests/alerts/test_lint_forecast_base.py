"""`lint_rules --forecast --base OLD NEW` and `POST /api/v1/rules/lint/forecast/` against a real
Prometheus 2.42 holding three days of backfilled history (promtool, before it starts).

History (UTC, one sample a minute, window 2026-11-17 00:00 .. 2026-11-20 00:00):
- `steward_bt_errors{model="scorer"}`: 0, with 3-minute blips at 2 every day at 10:00, 13:00,
  15:00 and 23:30 (12 blips, 3 at night in Berlin), and an incident at 5 on 2026-11-18
  02:00-02:30 (03:00 in Berlin: sleep), recorded as an episode someone called actionable;
- `steward_bt_errors{model="ranker"}`: 0, with 3 for ten minutes on 2026-11-19 at 12:00.

`steward_bt_errors > 1` with `for: 2m` fires 14 times (32.7 a week); with `for: 5m` twice.
The step of 20 s makes 12,961 evaluations: two range queries per expression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.lint.engine import lint_rule_files
from alerts.models import AlertRule, Episode, Feedback
from fleet.models import Team
from runbooks.models import Runbook
from tests.api_helpers import session_client, token_client
from tests.conftest import require_service
from tests.support.processes import PrometheusServer, free_port, openmetrics

URL = "/api/v1/rules/lint/forecast/"
END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=3)
INCIDENT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
STEP = "20"
LABELS = {"severity": "page", "team": "fraud-ml", "layer": "infra"}


def _history() -> str:
    first = int((START - timedelta(hours=4)).timestamp())
    scorer, ranker = [], []
    blips = [
        START + timedelta(days=d, hours=h, minutes=m)
        for d in range(3)
        for h, m in ((10, 0), (13, 0), (15, 0), (23, 30))
    ]
    for ts in range(first, int(END.timestamp()) + 1, 60):
        moment = datetime.fromtimestamp(ts, UTC)
        value = 0.0
        if any(b <= moment < b + timedelta(minutes=3) for b in blips):
            value = 2.0
        if INCIDENT <= moment < INCIDENT + timedelta(minutes=30):
            value = 5.0
        scorer.append((float(ts), value))
        ranker_on = (
            datetime(2026, 11, 19, 12, tzinfo=UTC)
            <= moment
            < datetime(2026, 11, 19, 12, 10, tzinfo=UTC)
        )
        ranker.append((float(ts), 3.0 if ranker_on else 0.0))
    return openmetrics(
        {'steward_bt_errors{model="scorer"}': scorer, 'steward_bt_errors{model="ranker"}': ranker}
    )


def rules(*, expr: str = "steward_bt_errors > 1", for_: str = "2m", severity: str = "page") -> str:
    return f"""groups:
  - name: errors
    rules:
      - alert: ErrorsHigh
        expr: {expr}
        for: {for_}
        labels: {{severity: {severity}, team: fraud-ml, layer: infra}}
        annotations:
          summary: Errors are high
          runbook_url: http://127.0.0.1:8000/runbooks/errors/
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_service(PrometheusServer.available(), "prometheus and promtool binaries")
    server = PrometheusServer(free_port(), tmp_path_factory.mktemp("prometheus-backfill"))
    server.backfill(_history())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def catalog(prometheus: str, settings: Any, team: Team, make_user: Any) -> AlertRule:
    settings.PROMETHEUS_URL = prometheus
    settings.STEWARD_PAGE_BUDGET_PER_WEEK = 10
    settings.STEWARD_PAGE_BUDGETS = {}
    runbook = Runbook.objects.create(slug="errors", title="Errors", owner_team=team)
    rule = AlertRule.objects.create(
        alertname="ErrorsHigh", owner_team=team, runbook=runbook, severity="page", layer="infra"
    )
    labels = {"alertname": "ErrorsHigh", "model": "scorer", **LABELS}
    episode = Episode.objects.create(
        rule=rule,
        fingerprint=fingerprint(labels),
        labels=labels,
        starts_at=INCIDENT + timedelta(minutes=2),
        ends_at=INCIDENT + timedelta(minutes=30),
        source="prometheus",
    )
    Feedback.objects.create(episode=episode, user=make_user("oncall"), actionable=True)
    return rule


def run(tmp_path: Path, base: str, new: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "base.yml").write_text(base)
    (tmp_path / "new.yml").write_text(new)
    out = StringIO()
    code = 0
    try:
        call_command(
            "lint_rules",
            str(tmp_path / "new.yml"),
            "--forecast",
            "--base",
            str(tmp_path / "base.yml"),
            "--days=3",
            f"--end={END.isoformat()}",
            f"--step={STEP}",
            *extra,
            stdout=out,
        )
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, out.getvalue()


def test_page_budget_fails_the_build(catalog: AlertRule, tmp_path: Path) -> None:
    code, out = run(tmp_path, rules(severity="warning"), rules(), "--format=json")
    assert code == 1
    data = json.loads(out)
    forecast = data["forecast_change"]
    [team] = forecast["teams"]
    assert team["team"] == "fraud-ml"
    assert (team["pages_before"], team["pages_after"]) == (0, 14)
    assert team["pages_per_week_after"] == pytest.approx(32.7)
    assert (team["sleep_interruptions_before"], team["sleep_interruptions_after"]) == (0, 4)
    assert team["over_budget"] is True
    # One expression, 12,961 evaluations: two chunked range queries (cached for both sides).
    assert forecast["range_queries"] == 2
    errors = [v for v in data["violations"] if v["status"] == "error"]
    assert [(v["check"], v["file"], v["line"]) for v in errors] == [
        ("forecast", str(tmp_path / "new.yml"), 4)
    ]
    assert "Team fraud-ml would get 32.7 pages a week (budget 10, before 0)" in errors[0]["message"]


def test_quieter_change_passes_and_prints_before_and_after(
    catalog: AlertRule, tmp_path: Path
) -> None:
    code, out = run(tmp_path, rules(), rules(for_="5m"))
    assert code == 0, out
    assert "fraud-ml" in out and "32.7 -> 4.7" in out and "4 -> 1" in out
    assert "changed ErrorsHigh: episodes 14 -> 2 (-12 +0), pages 14 -> 2" in out


def test_change_missing_an_actionable_episode_is_listed(catalog: AlertRule, tmp_path: Path) -> None:
    code, out = run(tmp_path, rules(), rules(expr="steward_bt_errors > 10"), "--format=json")
    assert code == 0, out
    data = json.loads(out)
    [team] = data["forecast_change"]["teams"]
    assert team["pages_after"] == 0 and team["missed_actionable_count"] == 1
    [missed] = team["missed_actionable"]
    assert missed["actionable"] is True and missed["labels"]["model"] == "scorer"
    assert data["forecast_change"]["range_queries"] == 4  # two expressions
    [warning] = [v for v in data["violations"] if v["check"] == "forecast"]
    assert warning["status"] == "warning"
    assert "Would miss 1 episode(s) someone acted on: 2026-11-18 02:02 UTC" in warning["message"]


def test_change_paging_an_actionable_episode_late_is_listed(
    catalog: AlertRule, tmp_path: Path, settings: Any
) -> None:
    settings.STEWARD_REPLAY_REGRET_DELAY_SECONDS = 600
    code, out = run(tmp_path, rules(), rules(for_="15m"), "--format=json")
    assert code == 0, out
    [change] = json.loads(out)["forecast_change"]["changes"]
    assert change["missed_actionable_count"] == 0
    [late] = change["delayed_actionable"]
    assert late["delay_seconds"] == 13 * 60  # recorded at 02:02, fires at 02:15


def test_github_format_annotates_the_new_file(catalog: AlertRule, tmp_path: Path) -> None:
    code, out = run(tmp_path, rules(severity="warning"), rules(), "--format=github")
    assert code == 1
    new = str(tmp_path / "new.yml").replace(":", "%3A").replace(",", "%2C")
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={new},line=4,title=steward lint%3A forecast")
    assert "would get 32.7 pages a week" in errors[0]
    assert any(line.startswith(f"::warning file={new},line=4,") for line in out.splitlines())


def test_group_interval_is_the_evaluation_step(catalog: AlertRule) -> None:
    """Without --step each group is evaluated every `interval:` (else the default): with
    `interval: 5m` a 3-minute blip is seen at most once and `for: 2m` never holds."""
    grouped = rules().replace("  - name: errors\n", "  - name: errors\n    interval: 5m\n")
    report = lint_rule_files(
        [("new.yml", grouped)],
        forecast=True,
        base=[("base.yml", rules())],
        forecast_window=timedelta(days=3),
        forecast_end=END,
    )
    data = report.forecast_change
    assert data is not None
    [change] = data["changes"]
    assert change["step_seconds"] == 300 and data["step_seconds"] == 60
    assert (change["episodes_before"], change["episodes_after"]) == (14, 2)
    assert data["range_queries"] == 2  # one query per step: 4,321 and 865 evaluations


def test_query_refused_by_prometheus_is_reported(catalog: AlertRule, tmp_path: Path) -> None:
    code, out = run(tmp_path, rules(), rules(expr="no_such_function(steward_bt_errors) > 1"))
    assert "Could not forecast on Prometheus" in out and "no_such_function" in out
    assert "pages/week" in out


def test_api_forecast(catalog: AlertRule, team: Team) -> None:
    body = {
        "base": [{"name": "rules/errors.yml", "content": rules(severity="warning")}],
        "new": [{"name": "rules/errors.yml", "content": rules(expr="steward_bt_errors > 10")}],
        "days": 3,
        "step": int(STEP),
        "end": END.isoformat(),
    }
    own = token_client("read", team=team)
    response = own.post("/api/v1/rules/lint/forecast/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    [row] = response.json()["forecast_change"]["teams"]
    assert row["missed_actionable_count"] == 1 and len(row["missed_actionable"]) == 1

    # Another team's token sees the numbers, not the episodes.
    other = Team.objects.create(slug="search", name="Search")
    response = token_client("read", team=other).post(
        "/api/v1/rules/lint/forecast/?output=github", body, content_type="application/json"
    )
    assert response.status_code == 200
    assert "::warning file=rules/errors.yml,line=4" in response.content.decode()
    assert "02:02 UTC" not in response.content.decode()

    bad = token_client("read").post(
        "/api/v1/rules/lint/forecast/", {"new": []}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"base", "new"}
    assert Client().post("/api/v1/rules/lint/forecast/", body).status_code in (401, 403)


def test_api_lists_episodes_to_members_and_staff_only(
    catalog: AlertRule, member: Any, make_user: Any
) -> None:
    body = {
        "base": [{"name": "a.yml", "content": rules()}],
        "new": [{"name": "a.yml", "content": rules(expr="steward_bt_errors > 10")}],
        "days": 3,
        "end": END.isoformat(),
    }

    def listed(client: Client) -> tuple[int, int]:
        response = client.post(URL, body, content_type="application/json")
        [row] = response.json()["forecast_change"]["teams"]
        return row["missed_actionable_count"], len(row["missed_actionable"])

    assert listed(session_client(member)) == (1, 1)
    assert listed(session_client(make_user("boss", staff=True))) == (1, 1)
    assert listed(session_client(make_user("outsider"))) == (1, 0)
    assert listed(token_client("read")) == (1, 1)  # fleet-wide token


def test_api_needs_prometheus(db: None, settings: Any) -> None:
    settings.PROMETHEUS_URL = ""
    body = {"base": [], "new": [{"name": "a.yml", "content": rules()}]}
    response = token_client("read").post(
        "/api/v1/rules/lint/forecast/", body, content_type="application/json"
    )
    assert response.status_code == 400 and "PROMETHEUS_URL" in response.content.decode()
