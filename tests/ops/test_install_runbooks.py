from __future__ import annotations

import shutil
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from alerts.models import AlertRule
from core.durations import duration_parse
from ops.services import ShippedRulesError, alertname_slug, shipped_rules_parse
from runbooks.models import Runbook, RunbookRevision

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def install(*args: str) -> str:
    out = StringIO()
    call_command("install_runbooks", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    shutil.copytree(DEPLOY / "runbooks", tmp_path / "runbooks")
    shutil.copy(DEPLOY / "prometheus" / "rules.yml", tmp_path / "rules.yml")
    return tmp_path


def test_alertname_slug_names_the_runbook_file() -> None:
    assert alertname_slug("StewardIngestErrors") == "steward-ingest-errors"
    assert alertname_slug("StewardWeb5xxRate") == "steward-web5xx-rate"


def test_shipped_rules_read_for_with_the_one_duration_parser() -> None:
    text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: {for_}\n"
    [rule] = shipped_rules_parse(text.format(for_="1h30m"), filename="rules.yml")
    assert rule.for_duration == duration_parse("1h30m") == timedelta(minutes=90)
    with pytest.raises(ShippedRulesError, match="rules.yml: '5 minutes' is not a Prometheus"):
        shipped_rules_parse(text.format(for_="5 minutes"), filename="rules.yml")


@pytest.mark.django_db
def test_install_creates_owned_runbooks_and_catalogs_every_shipped_alert() -> None:
    output = install()
    files = sorted(p.stem for p in (DEPLOY / "runbooks").glob("*.md"))
    assert f"runbooks: {len(files)} created, 0 updated" in output

    runbooks = Runbook.objects.select_related("owner_team").order_by("slug")
    assert [r.slug for r in runbooks] == files
    assert {r.owner_team.slug for r in runbooks if r.owner_team} == {"steward-operators"}
    assert all(not r.is_stale() for r in runbooks)

    rule = AlertRule.objects.select_related("runbook", "owner_team").get(
        alertname="StewardIngestErrors"
    )
    assert rule.owner_team is not None and rule.owner_team.slug == "steward-operators"
    assert rule.runbook is not None and rule.runbook.slug == "steward-ingest-errors"
    assert rule.severity == "page"
    assert rule.layer == "infra"
    assert rule.for_duration == timedelta(minutes=10)
    assert "steward_deliveries_total" in rule.expression
    assert AlertRule.objects.filter(runbook__isnull=True).count() == 0


@pytest.mark.django_db
def test_install_twice_changes_nothing_and_writes_no_revision() -> None:
    install()
    revisions = RunbookRevision.objects.count()
    rules = AlertRule.objects.count()
    output = install()
    assert "0 created, 0 updated" in output
    assert RunbookRevision.objects.count() == revisions
    assert AlertRule.objects.count() == rules


@pytest.mark.django_db
def test_a_changed_runbook_file_is_updated_with_a_revision(deploy_copy: Path) -> None:
    args = (
        "--runbooks-dir",
        str(deploy_copy / "runbooks"),
        "--rules",
        str(deploy_copy / "rules.yml"),
    )
    install(*args)
    path = deploy_copy / "runbooks" / "steward-down.md"
    path.write_text(path.read_text() + "\n6. New step.\n")
    output = install(*args)
    assert "0 created, 1 updated" in output
    runbook = Runbook.objects.get(slug="steward-down")
    assert runbook.body.endswith("6. New step.\n")
    assert runbook.revisions.count() == 2


@pytest.mark.django_db
def test_an_alert_without_a_runbook_file_is_refused_and_nothing_is_installed(
    deploy_copy: Path,
) -> None:
    (deploy_copy / "runbooks" / "steward-beat-missing.md").unlink()
    with pytest.raises(CommandError, match="StewardBeatMissing has no runbook"):
        install(
            "--runbooks-dir",
            str(deploy_copy / "runbooks"),
            "--rules",
            str(deploy_copy / "rules.yml"),
        )
    assert not Runbook.objects.exists()


@pytest.mark.django_db
def test_a_broken_rule_file_is_a_clear_error(deploy_copy: Path) -> None:
    (deploy_copy / "rules.yml").write_text("groups: [\n")
    with pytest.raises(CommandError, match=r"rules.yml line 2: Invalid YAML"):
        install(
            "--runbooks-dir",
            str(deploy_copy / "runbooks"),
            "--rules",
            str(deploy_copy / "rules.yml"),
        )
