"""Step 1 of the lint gate: walk rule files, collect alert entries and structure errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts.lint.promql import promql_problems
from alerts.lint.types import AlertEntry, LintLimitError, LintReport, Violation, string_map
from alerts.lint.yamlfile import LineDict, RuleFileError, RuleFileLimitError, rule_file_load
from alerts.models import LintCheck
from core.durations import DurationError, duration_parse
from core.limits import LINT_MAX_GROUPS, LINT_MAX_RULES


class Collector:
    """Step 1: walk the files, collect alert entries and structure violations."""

    def __init__(self, report: LintReport) -> None:
        self.report = report
        self.entries: list[AlertEntry] = []
        # Counted as written, before any check runs (aliases share their objects, so
        # counting is cheap even where walking would not be).
        self.group_count = 0
        self.rule_count = 0

    def add(
        self, file: str, line: int, check: str, message: str, group: str = "", alert: str = ""
    ) -> None:
        self.report.violations.append(Violation(file, line, group, alert, check, message))

    def collect(self, name: str, text: str) -> None:
        self.report.files += 1
        try:
            document = rule_file_load(text, filename=name)
        except RuleFileLimitError as error:
            raise LintLimitError(str(error)) from None
        except RuleFileError as error:
            check = LintCheck.YAML if error.syntax else LintCheck.STRUCTURE
            self.add(name, error.line, check, error.message)
            return
        self._count(document)
        for group in document["groups"]:
            self._group(name, document, group)

    def _count(self, document: LineDict) -> None:
        groups = document["groups"]
        self.group_count += len(groups)
        self.rule_count += sum(
            len(group["rules"])
            for group in groups
            if isinstance(group, dict) and isinstance(group.get("rules"), list)
        )
        if self.group_count > LINT_MAX_GROUPS:
            raise LintLimitError(
                f"Too many rule groups: one lint request takes at most {LINT_MAX_GROUPS:,} "
                "groups; split the files over several requests."
            )
        if self.rule_count > LINT_MAX_RULES:
            raise LintLimitError(
                f"Too many rules: one lint request takes at most {LINT_MAX_RULES:,} rules; "
                "split the files over several requests."
            )

    def _group(self, name: str, document: LineDict, group: Any) -> None:
        if not isinstance(group, LineDict):
            self.add(
                name,
                document.line_of("groups"),
                LintCheck.STRUCTURE,
                "Each group is a mapping with `name:` and `rules:`.",
            )
            return
        self.report.groups += 1
        group_name = group.get("name")
        if not isinstance(group_name, str) or not group_name.strip():
            self.add(name, group.line, LintCheck.STRUCTURE, "The group needs a `name:`.")
            group_name = ""
        rules = group.get("rules")
        if not isinstance(rules, list):
            self.add(
                name,
                group.line_of("rules"),
                LintCheck.STRUCTURE,
                "The group needs a `rules:` list.",
                group_name,
            )
            return
        interval: timedelta | None = None
        if group.get("interval") is not None:
            try:
                interval = duration_parse(str(group["interval"]))
            except DurationError:
                self.add(
                    name,
                    group.line_of("interval"),
                    LintCheck.STRUCTURE,
                    f"`interval: {group['interval']}` is not a duration like 1m.",
                    group_name,
                )
        for rule in rules:
            self._rule(name, group_name, group, rule, interval)

    def _rule(
        self,
        name: str,
        group_name: str,
        group: LineDict,
        rule: Any,
        interval: timedelta | None = None,
    ) -> None:
        if not isinstance(rule, LineDict):
            self.add(
                name,
                group.line_of("rules"),
                LintCheck.STRUCTURE,
                "Each rule is a mapping with `alert:` or `record:` and `expr:`.",
                group_name,
            )
            return
        alert, record, expr = rule.get("alert"), rule.get("record"), rule.get("expr")
        label = str(alert or record or "")
        if (alert is None) == (record is None):
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "A rule has exactly one of `alert:` or `record:`.",
                group_name,
                label,
            )
            return
        if not isinstance(expr, str | int | float):
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "The rule needs an `expr:` (a PromQL expression).",
                group_name,
                label,
            )
            return
        expr_text = str(expr)
        for offset, message in promql_problems(expr_text):
            line = rule.value_lines.get("expr", rule.line) + expr_text.count("\n", 0, offset)
            self.add(name, line, LintCheck.PROMQL, message, group_name, label)
        if record is not None:
            self.report.recording_rules += 1
            return
        self.report.alerts += 1
        self._alert(name, group_name, rule, str(alert), expr_text, interval)

    def _alert(
        self,
        name: str,
        group_name: str,
        rule: LineDict,
        alert: str,
        expr: str,
        group_interval: timedelta | None = None,
    ) -> None:
        labels, annotations = string_map(rule.get("labels")), string_map(rule.get("annotations"))
        if labels is None or annotations is None:
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "`labels:` and `annotations:` are mappings of strings.",
                group_name,
                alert,
            )
            return
        durations: dict[str, timedelta | None] = {}
        for key in ("for", "keep_firing_for"):
            durations[key] = None
            if rule.get(key) is not None:
                try:
                    durations[key] = duration_parse(str(rule[key]))
                except DurationError:
                    self.add(
                        name,
                        rule.line_of(key),
                        LintCheck.STRUCTURE,
                        f"`{key}: {rule[key]}` is not a duration like 5m.",
                        group_name,
                        alert,
                    )
                    return
        self.entries.append(
            AlertEntry(
                name,
                group_name,
                rule,
                alert,
                expr,
                durations["for"],
                labels,
                annotations,
                keep_firing_for=durations["keep_firing_for"],
                group_interval=group_interval,
            )
        )
