"""The lint gate's runbook check and the exact `runbook_url` to paste (alerts.catalog.ownership).

Prometheus fills `$labels` in annotations with the series' labels only, never the rule's
static `labels:`; a static label must be written literally in `runbook_url`.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from alerts.catalog.ownership import rule_runbook_url_annotation, runbook_url_annotation
from alerts.lint.engine import lint_rule_files
from alerts.models import AlertRule
from fleet.models import AISystem, Team
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000/runbooks/for/ModelLatencyHigh/"


def rules_yaml(*, static: str, runbook_url: str) -> str:
    return f"""groups:
- name: latency
  rules:
  - alert: ModelLatencyHigh
    expr: model_latency_p99_seconds > 1
    for: 5m
    labels:
      severity: page
      team: fraud-ml
      layer: infra
{static}    annotations:
      summary: p99 latency above 1s
      runbook_url: "{runbook_url}"
"""


def runbook_messages(text: str) -> list[str]:
    report = lint_rule_files([("rules.yml", text)])
    return [v.message for v in report.violations if v.check == "runbook_url"]


@pytest.fixture
def models(team: Team, member: User) -> dict[str, AlertRule]:
    """Two catalogued rules share the alertname, one per model; both have a runbook."""
    rules = {}
    for slug in ("fraud-scorer-v2", "churn"):
        system = AISystem.objects.create(slug=slug, name=slug, owner_team=team)
        runbook = Runbook.objects.create(slug=f"{slug}-latency", title=slug, owner_team=team)
        rules[slug] = AlertRule.objects.create(
            alertname="ModelLatencyHigh",
            matchers={"model": slug},
            system=system,
            owner_team=team,
            runbook=runbook,
        )
    return rules


def test_templating_a_static_label_says_exactly_why_and_what_to_paste(models: Any) -> None:
    text = rules_yaml(
        static="      model: fraud-scorer-v2\n      env: prod\n",
        runbook_url=BASE + "?model={{ $labels.model | urlquery }}&env={{ $labels.env | urlquery }}"
        "&instance={{ $labels.instance | urlquery }}",
    )
    [message] = runbook_messages(text)
    assert "runbook_url templates `model`, `env` with `$labels`" in message
    assert "sets them statically in `labels:`" in message
    assert "`$labels` holds only the series' labels (from `expr`)" in message
    assert "`model=` and `env=` would arrive empty" in message
    assert message.endswith(
        "Write static labels literally and template only labels the expression produces: "
        + BASE
        + "?env=prod&model=fraud-scorer-v2&instance={{ $labels.instance | urlquery }}"
    )


def test_the_readme_recipe_passes(models: Any) -> None:
    """Static labels literal, expression labels templated: a registered rule with a runbook."""
    text = rules_yaml(
        static="      model: fraud-scorer-v2\n      env: prod\n",
        runbook_url=BASE
        + "?model=fraud-scorer-v2&env=prod&instance={{ $labels.instance | urlquery }}",
    )
    assert runbook_messages(text) == []


def test_templating_a_label_the_expression_produces_passes(models: Any) -> None:
    """One Prometheus rule for every model: `model` comes from the series, so it is templated,
    and every rule the link may open has a runbook (this said "has no runbook" before)."""
    text = rules_yaml(static="", runbook_url=BASE + "?model={{ $labels.model | urlquery }}")
    assert runbook_messages(text) == []


def test_a_rule_the_templated_link_may_open_without_a_runbook_is_named(models: Any) -> None:
    AlertRule.objects.filter(pk=models["churn"].pk).update(runbook=None)
    text = rules_yaml(static="", runbook_url=BASE + "?model={{ $labels.model | urlquery }}")
    assert runbook_messages(text) == [
        "ModelLatencyHigh{model=churn} has no runbook in the Steward catalog: link a runbook to it."
    ]


def test_a_link_that_cannot_tell_the_rules_apart_says_which_label_to_add(models: Any) -> None:
    text = rules_yaml(static="", runbook_url=BASE + "?instance={{ $labels.instance | urlquery }}")
    [message] = runbook_messages(text)
    assert message.startswith("runbook_url does not tell apart the 2 rules named ModelLatencyHigh")
    assert "add `model` (literally if this rule sets it, else templated)" in message


def test_unregistered_alert_has_no_runbook(db: None) -> None:
    text = rules_yaml(static="", runbook_url=BASE)
    assert runbook_messages(text) == [
        "ModelLatencyHigh has no runbook in the Steward catalog: register the rule and link a "
        "runbook to it."
    ]


def test_annotation_writes_static_labels_literally_and_templates_the_rest() -> None:
    assert (
        runbook_url_annotation(
            "ModelLatencyHigh", {"model": "fraud scorer&<v2>", "env": ""}, ["instance", "model"]
        )
        == BASE + "?model=fraud+scorer%26%3Cv2%3E&instance={{ $labels.instance | urlquery }}"
    )
    assert runbook_url_annotation("Up", {}) == "http://127.0.0.1:8000/runbooks/for/Up/"


def test_annotation_of_a_catalog_rule_uses_its_matchers(models: dict[str, AlertRule]) -> None:
    assert rule_runbook_url_annotation(models["churn"]) == BASE + "?model=churn"
