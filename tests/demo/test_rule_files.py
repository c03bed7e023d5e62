"""The demo's rules come with their teams' rule files, so a change chosen in the demo's review
becomes a patch that `git apply` takes."""

from __future__ import annotations

import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from alerts.models import AlertRule, RuleFileText

pytestmark = pytest.mark.django_db

NOW = "2026-11-18T12:00:00+00:00"  # a Wednesday: 2026-W46 is the last complete week
WEEK = "2026-W46"


def test_every_owned_rule_is_in_its_teams_file_and_a_chosen_tune_patches_it(
    tmp_path: Path,
) -> None:
    call_command("seed_demo", "--now", NOW, stdout=StringIO())
    owned = AlertRule.objects.filter(catalogued=True, owner_team__isnull=False)
    assert owned.exists() and not owned.filter(source_file="").exists()
    for rule in owned.select_related("owner_team"):
        assert rule.owner_team is not None
        assert rule.source_file == f"rules/{rule.owner_team.slug}.yml"
    for kept in RuleFileText.objects.all():
        groups = yaml.safe_load(kept.text)["groups"]
        names = {(g["name"], r["alert"]) for g in groups for r in g["rules"]}
        in_file = owned.filter(source_file=kept.path)
        assert names == {(r.source_group, r.alertname) for r in in_file}
        (tmp_path / kept.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / kept.path).write_text(kept.text)

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    page = client.get(f"/review/{WEEK}/").content.decode()
    form = re.search(rf'action="(/review/{WEEK}/rules/(\d+)/tune/)"', page)
    assert form is not None, "the demo's review suggests a change"
    fields = dict(
        re.findall(r'name="(for|keep_firing_for|note)" value="([^"]*)"', page[form.end() :][:2000])
    )
    assert client.post(form.group(1), fields).status_code == 302

    patch = client.get(f"/review/{WEEK}/rules.patch").content.decode()
    rule = AlertRule.objects.get(pk=int(form.group(2)))
    assert f"+    for: {fields['for']}" in patch
    (tmp_path / "review.patch").write_text(patch)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "review.patch"], cwd=tmp_path, check=True)
    applied = yaml.safe_load((tmp_path / rule.source_file).read_text())
    [entry] = [
        r
        for g in applied["groups"]
        if g["name"] == rule.source_group
        for r in g["rules"]
        if r["alert"] == rule.alertname
    ]
    assert entry["for"] == fields["for"]
