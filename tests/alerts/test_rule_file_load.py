"""The one loader of Prometheus rule files (issue 13: lint, import and the shipped
self-alerts each parsed them their own way, and only the lint knew line numbers)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from alerts.lint.engine import lint_rule_files
from alerts.lint.yamlfile import LineDict, RuleFileError, rule_file_load
from ops.services import ShippedRulesError, shipped_rules_parse

BROKEN = "groups:\n  - name: x\n    rules:\n      - alert: [unclosed\n"
NOT_RULES = "# a list, not a rule file\n- 1\n- 2\n"


def test_loads_a_rule_file_with_lines() -> None:
    document = rule_file_load("groups:\n  - name: g\n    rules: []\n", filename="a.yml")
    assert isinstance(document, LineDict)
    assert document["groups"][0].line_of("rules") == 3


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BROKEN, 5, "Invalid YAML"),
        (NOT_RULES, 2, "Not a Prometheus rule file"),
        ("", 1, "Not a Prometheus rule file"),
    ],
)
def test_errors_name_the_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RuleFileError) as raised:
        rule_file_load(text, filename="rules.yml")
    assert raised.value.line == line
    assert str(raised.value).startswith(f"rules.yml line {line}: {message}")


def test_every_reader_reports_the_same_error(db: None, tmp_path: Path) -> None:
    expected = str(_error(NOT_RULES))
    [violation] = lint_rule_files([("rules.yml", NOT_RULES)]).violations
    assert f"{violation.file} line {violation.line}: {violation.message}" == expected
    with pytest.raises(ShippedRulesError) as shipped:
        shipped_rules_parse(NOT_RULES, filename="rules.yml")
    assert str(shipped.value) == expected
    path = tmp_path / "rules.yml"
    path.write_text(NOT_RULES)
    out = StringIO()
    call_command("import_rules", str(path), stdout=out, stderr=out)
    assert f"{tmp_path}/{expected}" in out.getvalue()


def _error(text: str) -> RuleFileError:
    with pytest.raises(RuleFileError) as raised:
        rule_file_load(text, filename="rules.yml")
    return raised.value
