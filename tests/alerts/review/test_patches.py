"""Prune, retire and tune decisions become a rule-file patch that `git apply` takes, and the
next `import_rules` of the patched file marks them done by itself."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings

from alerts.models import AlertRule, Decision
from alerts.review.patches import RuleEdit, review_patch, rule_file_patch, unified_diff
from alerts.review.services import decision_record, decision_undo
from fleet.models import Team

# Comments, odd spacing, a block scalar with a blank line, flow mappings, a second group, CRLF-
# free but without a final newline: what a hand-kept rule file looks like.
RULES = """\
# Fraud team alert rules — owned by fraud-ml
groups:
  - name: fraud
    interval: 30s
    rules:
      # Latency of the scorer, per model
      - alert: ModelLatencyHigh
        expr: |
          histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m])))
            > 0.5

        for: 5m
        labels:
          severity: page     # wakes people up
          team: fraud-ml
          model: fraud-scorer
        annotations:
          summary: "p99 latency above SLO"
      - alert: ModelLatencyHigh
        expr: vector(1)
        labels: {severity: page, team: fraud-ml, model: fraud-scorer-v2}
      - alert: FraudScoreDrift
        expr: vector(0.3)
        for: 10m
        labels:
          severity: ticket
          team: fraud-ml
  - name: pipeline
    rules:
    - alert: FeaturePipelineStale
      expr: time() - last_run > 3600
      keep_firing_for: 1m
      labels:
        severity: warning
        team: fraud-ml"""

GIT = shutil.which("git")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the rule file, the way a team keeps them."""
    if GIT is None:
        pytest.skip("git is not installed")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fraud.yml").write_text(RULES)
    for command in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "rules"],
    ):
        subprocess.run([GIT, *command], cwd=tmp_path, check=True)
    return tmp_path


def _import(repo: Path) -> str:
    out = StringIO()
    with override_settings(STEWARD_RULES_ROOT=str(repo)):
        call_command("import_rules", str(repo / "rules" / "fraud.yml"), stdout=out)
    return out.getvalue()


def _git_apply(repo: Path, diff: str) -> subprocess.CompletedProcess[str]:
    (repo / "review.patch").write_text(diff)
    assert GIT is not None
    check = subprocess.run(
        [GIT, "apply", "--check", "review.patch"], cwd=repo, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    return subprocess.run(
        [GIT, "apply", "review.patch"], cwd=repo, capture_output=True, text=True, check=True
    )


@pytest.fixture
def imported(repo: Path, team: Team) -> dict[str, AlertRule]:
    _import(repo)
    return {
        f"{r.alertname}{{{r.matchers_key}}}": r
        for r in AlertRule.objects.filter(source_file="rules/fraud.yml")
    }


def test_import_remembers_file_group_and_keep_firing_for(
    imported: dict[str, AlertRule], repo: Path
) -> None:
    stale = imported["FeaturePipelineStale{}"]
    assert (stale.source_file, stale.source_group) == ("rules/fraud.yml", "pipeline")
    assert stale.keep_firing_for is not None and stale.keep_firing_for.total_seconds() == 60
    drift = imported["FraudScoreDrift{}"]
    assert (drift.source_group, drift.keep_firing_for) == ("fraud", None)
    assert len(imported) == 4


def _decide(user: User, rule: AlertRule, week: str, kind: str, **extra: Any) -> Decision:
    return decision_record(user=user, rule=rule, week=week, kind=kind, **extra)


def test_week_patch_applies_with_git_and_next_import_marks_decisions_done(
    imported: dict[str, AlertRule], repo: Path, member: User, week: str, team: Team
) -> None:
    prune = _decide(member, imported["ModelLatencyHigh{model=fraud-scorer-v2}"], week, "prune")
    retire = _decide(
        member, imported["ModelLatencyHigh{model=fraud-scorer}"], week, "retire", note="dup"
    )
    tune = _decide(
        member,
        imported["FraudScoreDrift{}"],
        week,
        "tune",
        proposed_change={"for": "30m", "keep_firing_for": "5m"},
    )
    prune_stale = _decide(member, imported["FeaturePipelineStale{}"], week, "prune")

    patch = review_patch(week=week, team=team)
    assert patch.files == ["rules/fraud.yml"]
    assert {d.pk for d in patch.included} == {prune.pk, retire.pk, tune.pk, prune_stale.pk}
    assert patch.skipped == []
    _git_apply(repo, patch.diff)

    patched = (repo / "rules" / "fraud.yml").read_text()
    document = yaml.safe_load(patched)
    fraud, pipeline = document["groups"]
    assert [r["alert"] for r in fraud["rules"]] == ["FraudScoreDrift"]
    assert fraud["rules"][0]["for"] == "30m" and fraud["rules"][0]["keep_firing_for"] == "5m"
    assert pipeline["rules"] == []  # an emptied group keeps a list, not null
    # The retired rule is commented out, with a line naming the review and the decision.
    assert f"# Retired in the review of {week} (Steward decision {retire.pk}): dup" in patched
    assert "      #   expr: |" in patched
    # Everything the decisions do not touch is byte for byte as it was.
    assert patched.startswith("# Fraud team alert rules — owned by fraud-ml\ngroups:\n")
    assert "      # Latency of the scorer, per model\n" in patched
    assert "    interval: 30s\n" in patched

    # Before the import they are open actions; the import of the patched file closes them.
    assert Decision.objects.filter(done_at__isnull=True).count() == 4
    _import(repo)
    for decision in (prune, retire, tune, prune_stale):
        decision.refresh_from_db()
        assert decision.done_at is not None and decision.done_by is None
        assert decision.carried_out_note.startswith(
            "carried out: seen in import of rules/fraud.yml at "
        )
    # Nothing left to patch: each decision is listed as carried out.
    again = review_patch(week=week, team=team)
    assert again.diff == "" and len(again.skipped) == 4


def test_tune_stays_open_until_the_import_shows_the_new_definition(
    imported: dict[str, AlertRule], repo: Path, member: User, week: str
) -> None:
    tune = _decide(
        member, imported["FraudScoreDrift{}"], week, "tune", proposed_change={"for": "1h"}
    )
    _import(repo)  # unchanged file: not carried out
    tune.refresh_from_db()
    assert tune.done_at is None
    path = repo / "rules" / "fraud.yml"
    path.write_text(path.read_text().replace("for: 10m", "for: 1h"))
    _import(repo)
    tune.refresh_from_db()
    assert tune.done_at is not None and tune.carried_out_at is not None


def test_prune_of_a_rule_still_in_the_file_stays_open(
    imported: dict[str, AlertRule], repo: Path, member: User, week: str
) -> None:
    prune = _decide(member, imported["FraudScoreDrift{}"], week, "prune")
    _import(repo)
    prune.refresh_from_db()
    assert prune.done_at is None


def test_undone_decision_leaves_the_patch(
    imported: dict[str, AlertRule], member: User, week: str, team: Team
) -> None:
    rule = imported["FraudScoreDrift{}"]
    decision = _decide(member, rule, week, "prune")
    decision_undo(user=member, decision=decision)
    rule.refresh_from_db()
    assert rule.status == "active"
    assert review_patch(week=week, team=team).diff == ""


def test_a_later_decision_replaces_an_open_prune(
    imported: dict[str, AlertRule], member: User, week: str, team: Team
) -> None:
    rule = imported["FraudScoreDrift{}"]
    first = _decide(member, rule, week, "prune")
    second = _decide(member, rule, week, "keep", note="it pages rarely now")
    first.refresh_from_db()
    assert first.superseded_by == second and first.undone_at is not None
    assert review_patch(week=week, team=team).diff == ""


def test_patch_edits_only_the_decided_lines_byte_for_byte() -> None:
    text = RULES + "\n"
    after, errors = rule_file_patch(
        text,
        "r.yml",
        [RuleEdit("tune", "pipeline", "FeaturePipelineStale", "", change={"for": "2m"})],
    )
    assert errors == [""]
    before_lines, after_lines = text.split("\n"), after.split("\n")
    added = [line for line in after_lines if line not in before_lines]
    assert added == ["      for: 2m"]
    assert [line for line in after_lines if line != "      for: 2m"] == before_lines


def test_missing_rule_and_flow_style_are_reported_not_guessed() -> None:
    flow = "groups: [{name: g, rules: [{alert: A, expr: up}]}]\n"
    _, errors = rule_file_patch(flow, "f.yml", [RuleEdit("prune", "g", "A", "")])
    assert "flow style" in errors[0]
    _, errors = rule_file_patch(RULES, "r.yml", [RuleEdit("prune", "fraud", "Nope", "")])
    assert "not in r.yml" in errors[0]


def test_diff_of_a_file_without_final_newline_applies(repo: Path) -> None:
    after, _ = rule_file_patch(
        RULES, "rules/fraud.yml", [RuleEdit("prune", "pipeline", "FeaturePipelineStale", "")]
    )
    diff = unified_diff("rules/fraud.yml", RULES, after)
    assert "\\ No newline at end of file" in diff
    _git_apply(repo, diff)
    assert (repo / "rules" / "fraud.yml").read_text() == after


def test_patch_page_download_and_api(
    client: Client,
    imported: dict[str, AlertRule],
    member: User,
    week: str,
    team: Team,
    make_user: Callable[..., User],
) -> None:
    decision = _decide(member, imported["FraudScoreDrift{}"], week, "retire")
    client.force_login(member)
    page = client.get(f"/review/{week}/patch/?team={team.slug}")
    assert page.status_code == 200
    assert "git apply" in page.content.decode()
    assert "# Retired in the review of" in page.content.decode()
    # The shell recipe names the API by its absolute address, and the files to import after.
    assert (
        f"'http://testserver/api/v1/decisions/patch/?week={week}&amp;team={team.slug}'"
        in page.content.decode()
    )
    assert "manage.py import_rules rules/fraud.yml" in page.content.decode()
    week_page = client.get(f"/review/{week}/?team={team.slug}").content.decode()
    assert f"/review/{week}/patch/?team={team.slug}" in week_page
    download = client.get(f"/review/{week}/rules.patch?team={team.slug}")
    assert download["Content-Type"].startswith("text/x-diff")
    assert download.content.decode().startswith("diff --git a/rules/fraud.yml b/rules/fraud.yml")
    api = client.get(f"/api/v1/decisions/patch/?week={week}&team={team.slug}")
    assert api.status_code == 200
    body = api.json()
    assert body["included"] == [decision.pk] and body["files"] == ["rules/fraud.yml"]
    assert body["diff"] == download.content.decode()
    bad = client.get("/api/v1/decisions/patch/?week=nope")
    assert bad.status_code == 400 and "week" in bad.json()["error"]["fields"]
    detail = client.get(f"/review/decisions/{decision.pk}/").content.decode()
    assert "rules/fraud.yml" in detail and "the week's patch" in detail


def test_tune_form_stores_the_proposed_change_and_refuses_a_bad_duration(
    client: Client, imported: dict[str, AlertRule], member: User, week: str
) -> None:
    rule = imported["FraudScoreDrift{}"]
    client.force_login(member)
    prefix = f"rule-{rule.pk}-"
    bad = client.post(
        f"/review/{week}/rules/{rule.pk}/decide/",
        {prefix + "kind": "tune", prefix + "tune_for": "ten minutes"},
    )
    assert bad.status_code == 400
    assert not Decision.objects.exists()
    good = client.post(
        f"/review/{week}/rules/{rule.pk}/decide/",
        {
            prefix + "kind": "tune",
            prefix + "tune_for": "15m",
            prefix + "tune_keep_firing_for": "0s",
        },
    )
    assert good.status_code == 302
    decision = Decision.objects.get()
    assert decision.proposed_change == {"for": "15m", "keep_firing_for": "0s"}
