from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fleet.backstage import backstage_documents, backstage_import
from fleet.models import AISystem, Team

CATALOG = Path(__file__).parent / "fixtures" / "backstage" / "catalog-info.yaml"


def _import(*paths: Path) -> str:
    out = StringIO()
    call_command("import_backstage", *[str(p) for p in paths], stdout=out)
    return out.getvalue()


def test_groups_become_teams_and_components_become_owned_systems(db: None) -> None:
    output = _import(CATALOG)
    team = Team.objects.get(slug="fraud-ml")
    assert (team.name, team.email, team.chat_channel) == (
        "Fraud ML",
        "fraud-ml@example.com",
        "#fraud-ml-oncall",
    )
    scorer = AISystem.objects.get(slug="fraud-scorer")
    assert scorer.name == "Fraud scorer"
    assert scorer.owner_team == team
    assert scorer.kind == "model"
    assert scorer.lifecycle == "active"
    assert scorer.description.startswith("Scores card transactions")
    assert scorer.repository_url == "https://github.com/example/fraud-scorer"
    assert scorer.dashboard_url == "https://grafana.example.com/d/fraud/fraud-scorer"
    assert scorer.model_registry_url == "https://mlflow.example.com/#/models/fraud-scorer"
    pipeline = AISystem.objects.get(slug="feature-pipeline")
    assert (pipeline.kind, pipeline.owner_team) == ("pipeline", team)
    risk = AISystem.objects.get(slug="payments-risk")
    assert (risk.kind, risk.lifecycle) == ("service", "deprecated")
    assert "4 created, 0 updated, 0 unchanged, 2 skipped." in output


def test_unknown_kinds_are_ignored_and_counted(db: None) -> None:
    output = _import(CATALOG)
    assert "Ignored kinds: API ×1, Location ×1, User ×1." in output
    assert not AISystem.objects.filter(slug="fraud-scorer-api").exists()


def test_entities_with_unknown_or_non_group_owners_are_skipped_with_reasons(db: None) -> None:
    output = _import(CATALOG)
    assert "skipped component churn-agent: unknown owner group 'growth'" in output
    assert "skipped component side-project: its owner 'user:default/jdoe' is a user" in output
    assert not AISystem.objects.filter(slug__in=["churn-agent", "side-project"]).exists()


def test_reimport_changes_nothing(db: None) -> None:
    _import(CATALOG)
    before = list(AISystem.objects.values_list("slug", "updated_at"))
    output = _import(CATALOG)
    assert "0 created, 0 updated, 4 unchanged, 2 skipped." in output
    assert list(AISystem.objects.values_list("slug", "updated_at")) == before


def test_reimport_updates_changed_fields_and_keeps_fields_set_in_steward(db: None) -> None:
    _import(CATALOG)
    AISystem.objects.filter(slug="feature-pipeline").update(tier="critical")
    text = CATALOG.read_text().replace("every minute", "every 30 seconds")
    report = backstage_import(documents=backstage_documents([("edited.yaml", text)]))
    assert report.updated == ["resource feature-pipeline"]
    pipeline = AISystem.objects.get(slug="feature-pipeline")
    assert pipeline.description == "Builds transaction features every 30 seconds."
    assert pipeline.tier == "critical"


def test_groups_in_a_later_file_still_own_components(db: None, tmp_path: Path) -> None:
    component = tmp_path / "component.yaml"
    component.write_text(
        "kind: Component\nmetadata: {name: recommender}\nspec: {type: model, owner: recs}\n"
    )
    group = tmp_path / "group.yaml"
    group.write_text("kind: Group\nmetadata: {name: recs}\nspec: {type: team}\n")
    _import(component, group)
    assert AISystem.objects.get(slug="recommender").owner_team.slug == "recs"  # type: ignore[union-attr]


def test_invalid_values_skip_the_entity_with_the_reason(db: None) -> None:
    text = "kind: Group\nmetadata: {name: ops}\nspec: {profile: {email: not-an-email}}\n"
    report = backstage_import(documents=backstage_documents([("x.yaml", text)]))
    assert report.skipped == [("team ops", "Enter a valid email address.")]


def test_bad_yaml_and_missing_files_are_command_errors(tmp_path: Path, db: None) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Group\n  metadata: [\n")
    with pytest.raises(CommandError, match="broken.yaml: not valid YAML"):
        _import(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(CommandError, match="document 1 is not a mapping"):
        _import(scalar)
    with pytest.raises(CommandError, match="Cannot read"):
        _import(tmp_path / "missing.yaml")
