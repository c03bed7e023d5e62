"""End to end: the README's `runbook_url` recipe, pasted into a real Prometheus 2.42 rule with
static `model`/`env` labels and delivered through a real Alertmanager to a live Steward, opens
the on-call page of the right rule with its firing episode.

A second rule uses the form the README used to recommend (`{{ $labels.model | urlquery }}` for
a static label): it arrives as `?model=&env=`, which is why the recipe changed; Steward still
answers with a chooser instead of "Nobody owns this alert".
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from alerts.lint.engine import lint_rule_files
from alerts.models import AlertRule, Delivery, Episode
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save
from tests.e2e.test_alertmanager_e2e import alerting_stack, live_steward
from tests.support.processes import free_ports

PROM_PORT, AM_PORT, STEWARD_PORT = free_ports(3)
STEWARD = f"http://127.0.0.1:{STEWARD_PORT}"
README = Path(__file__).resolve().parents[2] / "README.md"
WAIT_SECONDS = 40


def readme_recipe() -> dict[str, Any]:
    """The first YAML block of the README's `runbook_url` section, as Prometheus reads it."""
    text = README.read_text()
    section = text[text.index("### The `runbook_url` annotation") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    [rule] = yaml.safe_load(block.group(1))
    assert isinstance(rule, dict)
    return rule


def pasted_rules(*, fire_from: float) -> dict[str, Any]:
    recipe = readme_recipe()
    assert recipe["labels"]["model"] and recipe["labels"]["env"]  # static model/env labels
    recipe["annotations"]["runbook_url"] = recipe["annotations"]["runbook_url"].replace(
        "https://steward.example.com", STEWARD
    )
    # The same alert, firing from `fire_from` on: Prometheus drops alerts it evaluates before
    # it has found Alertmanager (a few seconds after start) and resends only a minute later.
    # One series with an `instance` label and no model/env.
    recipe["expr"] = _firing("scorer-0:9100", fire_from)
    del recipe["for"]  # fire at once (a pending period would only slow the test down)
    recipe["labels"]["team"] = "fraud-ml"
    old_form = {
        "alert": recipe["alert"],
        "expr": _firing("churn-0:9100", fire_from),
        "labels": {"severity": "page", "team": "fraud-ml", "model": "churn", "env": "prod"},
        "annotations": {
            "runbook_url": f"{STEWARD}/runbooks/for/{recipe['alert']}/"
            "?model={{ $labels.model | urlquery }}&env={{ $labels.env | urlquery }}"
        },
    }
    return {"groups": [{"name": "recipe", "interval": "1s", "rules": [recipe, old_form]}]}


def _firing(instance: str, fire_from: float) -> str:
    return f'label_replace(vector(time()), "instance", "{instance}", "", "") > {fire_from:.0f}'


@pytest.fixture
def catalog(transactional_db: None) -> dict[str, AlertRule]:
    recipe = readme_recipe()
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    user = User.objects.create_user("oncall", password="pw")
    Membership.objects.create(team=team, user=user)
    rules = {}
    for model, body in ((recipe["labels"]["model"], "Scale the scorer out."), ("churn", "")):
        system = AISystem.objects.create(slug=model, name=model, owner_team=team)
        runbook = (
            runbook_save(
                runbook=Runbook(slug="scorer-latency"), author=user, title="Scorer", body=body
            )
            if body
            else None
        )
        rules[model] = AlertRule.objects.create(
            alertname=recipe["alert"],
            matchers={"model": model},
            owner_team=team,
            system=system,
            runbook=runbook,
            severity="page",
            layer="infra",
        )
    return rules


@pytest.fixture
def stack(catalog: Any, tmp_path: Path) -> Iterator[None]:
    with (
        live_steward(STEWARD_PORT) as url,
        alerting_stack(
            steward_url=url,
            rules=pasted_rules(fire_from=time.time() + 12),
            prom_port=PROM_PORT,
            am_port=AM_PORT,
            workdir=tmp_path,
        ),
    ):
        yield


def _wait_for_episodes(count: int) -> list[Episode]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        episodes = list(Episode.objects.open().select_related("rule"))
        if len(episodes) >= count:
            return episodes
        time.sleep(0.5)
    pytest.fail(
        f"fewer than {count} firing episodes arrived within {WAIT_SECONDS} s: "
        f"{list(Episode.objects.values_list('labels', flat=True))} "
        f"{list(Delivery.objects.values_list('outcome', 'error'))} "
    )


def test_lint_accepts_the_readme_recipe(catalog: dict[str, AlertRule]) -> None:
    recipe = readme_recipe()
    recipe["annotations"]["summary"] = "p99 latency above 1s"
    recipe["labels"]["team"] = "fraud-ml"
    recipe["labels"]["layer"] = "infra"
    text = yaml.safe_dump({"groups": [{"name": "recipe", "rules": [recipe]}]})
    text = text.replace("https://steward.example.com", "http://127.0.0.1:8000")
    assert lint_rule_files([("rules.yml", text)]).violations == []


@pytest.mark.e2e
def test_readme_runbook_url_opens_the_right_rule_with_its_firing_episode(
    stack: None, catalog: dict[str, AlertRule]
) -> None:
    model = readme_recipe()["labels"]["model"]
    episodes = {episode.rule.matchers["model"]: episode for episode in _wait_for_episodes(2)}
    recipe_episode, old_episode = episodes[model], episodes["churn"]
    assert recipe_episode.rule == catalog[model]

    # What Prometheus expanded and Alertmanager delivered, as stored on the episode.
    url = recipe_episode.annotations["runbook_url"]
    assert url == (
        f"{STEWARD}/runbooks/for/ModelLatencyHigh/?model={model}&env=prod&instance=scorer-0%3A9100"
    )
    client = Client()
    client.force_login(User.objects.get(username="oncall"))
    parts = urlsplit(url)
    html = client.get(f"{parts.path}?{parts.query}").content.decode()
    assert "Scale the scorer out." in html  # the right rule's runbook
    assert "Fraud ML" in html
    assert 'instance="scorer-0:9100"' in html  # its firing episode
    assert "since " in html and "Nothing is firing now" not in html
    assert "Nobody owns this alert" not in html and 'class="choices"' not in html

    # The old form: $labels has no static labels, so both values arrive empty.
    old_url = old_episode.annotations["runbook_url"]
    assert old_url == f"{STEWARD}/runbooks/for/ModelLatencyHigh/?model=&env="
    old_parts = urlsplit(old_url)
    old_html = client.get(f"{old_parts.path}?{old_parts.query}").content.decode()
    assert "2 rules named ModelLatencyHigh fit these labels" in old_html
    assert "Nobody owns this alert" not in old_html
    assert "firing now (1)" in old_html
