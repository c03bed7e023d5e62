"""Parsing budgets of the lint gate (issue 17, finding 3 and the YAML half of finding 8): a
small body must not expand into a huge document, nest without bound or carry more rules than
a CI run needs; each refusal is a 4xx naming the limit, before the checks run."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from alerts.lint.yamlfile import RuleFileError, RuleFileLimitError, rule_file_load
from core import limits
from tests.api_helpers import token_client

URL = "/api/v1/rules/lint/"


@pytest.fixture
def client(db: None) -> Client:
    return token_client("read")


def _alias_bomb() -> str:
    """The issue's repro: one rule aliased 300 times in a group aliased 300 times."""
    rule = "&r {alert: A, expr: up == 0, labels: {severity: page}}"
    rules = ", ".join([rule] + ["*r"] * 299)
    groups = "\n".join(["  - &g {name: g, rules: [" + rules + "]}"] + ["  - *g"] * 299)
    return "groups:\n" + groups + "\n"


def _rules_file(groups: int, rules_per_group: int) -> str:
    lines = ["groups:"]
    for g in range(groups):
        lines += [f"  - name: g{g}", "    rules:"]
        lines += [f"      - {{record: r{g}_{r}, expr: up}}" for r in range(rules_per_group)]
    return "\n".join(lines) + "\n"


def _error(response: object, status: int) -> str:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    return str(response.json()["error"]["message"])  # type: ignore[attr-defined]


def test_the_alias_bomb_of_the_issue_is_refused_with_the_limit(client: Client) -> None:
    body = _alias_bomb()
    assert len(body) < 4000
    message = _error(client.post(URL, body, content_type="application/yaml"), 400)
    assert f"at most {limits.YAML_MAX_ALIAS_NODES:,}" in message
    assert "Aliases" in message


def test_a_few_aliases_for_shared_labels_still_lint() -> None:
    text = (
        "common: &common {team: fraud-ml, layer: infra}\n"
        "groups:\n"
        "  - name: g\n"
        "    rules:\n"
        "      - {alert: A, expr: up == 0, labels: {<<: *common, severity: page}}\n"
        "      - {alert: B, expr: up == 1, labels: *common}\n"
    )
    document = rule_file_load(text, filename="shared.yml")
    assert document["groups"][0]["rules"][1]["labels"] == {"team": "fraud-ml", "layer": "infra"}


def test_deep_yaml_is_refused_with_the_limit(client: Client) -> None:
    body = "groups: " + "[" * 500 + "]" * 500 + "\n"
    message = _error(client.post(URL, body, content_type="application/yaml"), 400)
    assert f"nested more than {limits.YAML_MAX_DEPTH} levels" in message


def test_deep_yaml_is_a_file_error_for_the_other_readers() -> None:
    with pytest.raises(RuleFileLimitError, match="nested more than") as caught:
        rule_file_load("groups:\n" + "  " + "- " * 200 + "x\n", filename="deep.yml")
    assert isinstance(caught.value, RuleFileError) and caught.value.line == 2


def test_too_many_rules_per_request_is_refused(client: Client) -> None:
    per_group = limits.LINT_MAX_RULES // 4 + 1
    body = _rules_file(4, per_group)
    message = _error(client.post(URL, body, content_type="application/yaml"), 400)
    assert f"at most {limits.LINT_MAX_RULES:,} rules" in message


def test_too_many_groups_across_files_is_refused(client: Client) -> None:
    half = limits.LINT_MAX_GROUPS // 2 + 1
    files = [
        SimpleUploadedFile(f"{n}.yml", _rules_file(half, 1).encode(), "application/yaml")
        for n in range(2)
    ]
    message = _error(client.post(URL, {"file": files}), 400)
    assert f"at most {limits.LINT_MAX_GROUPS:,} groups" in message


def test_rules_at_the_limit_still_lint(client: Client) -> None:
    response = client.post(URL, _rules_file(2, 10), content_type="application/yaml")
    assert response.status_code == 200
    assert response.json()["recording_rules"] == 20


def test_body_above_the_lint_limit_is_413(client: Client) -> None:
    body = "# padding\n" * (limits.LINT_MAX_BODY_BYTES // 10 + 1) + _rules_file(1, 1)
    message = _error(client.post(URL, body, content_type="application/yaml"), 413)
    assert f"{limits.LINT_MAX_BODY_BYTES:,} bytes" in message


def test_lint_rules_command_names_the_limit(db: None, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yml"
    path.write_text(_alias_bomb())
    with pytest.raises(CommandError, match="Aliases expand the file too much") as caught:
        call_command("lint_rules", str(path), stdout=StringIO())
    assert caught.value.returncode == 2


def test_a_number_too_long_to_read_is_a_yaml_error_at_its_line() -> None:
    # Found by the fuzz suite: PyYAML's int() of 5,000 digits raised ValueError (a 500 on lint).
    from alerts.lint.yamlfile import RuleFileError, rule_file_load

    text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        for: " + "9" * 5000 + "\n"
    with pytest.raises(RuleFileError) as raised:
        rule_file_load(text, filename="big.yml")
    assert raised.value.line == 5
    assert "a number too long to read" in str(raised.value)
