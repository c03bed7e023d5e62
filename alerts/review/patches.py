"""A review's decisions as a change to the rule files: one unified diff per week (and team).

Prune deletes the rule from its group, retire comments it out, tune sets `for:` and
`keep_firing_for:` (the decision's `proposed_change`). The text of each file is the one last
imported (`RuleFileText`, kept by `import_rules`), else the file under STEWARD_RULES_ROOT (for
rules that came from `sync_prometheus`). The file's text is edited line by line, never
re-dumped: every byte the decisions do not touch stays as it was, comments included, so the
diff applies with `git apply` in the repository the files were imported from.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db.models import Q

from alerts.lint.yamlfile import RuleFileError, rule_file_load
from alerts.models import Decision, RuleFileText, matchers_key
from core.durations import duration_parse
from fleet.models import Team

Kind = Decision.Kind
PATCH_KINDS = (Kind.PRUNE, Kind.RETIRE, Kind.TUNE)
TUNE_KEYS = ("for", "keep_firing_for")
# Labels that make a rule's matchers (alerts.catalog.rulefiles.SYSTEM_LABELS).
_SYSTEM_LABELS = ("model", "system")
# Line breaks YAML counts besides \n: a file holding one would shift every line number.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029](?!\n)")
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


class PatchError(ValueError):
    """A rule that cannot be edited in its file; the message says why."""


@dataclass(frozen=True)
class RuleEdit:
    """One decision's change to one rule of a file."""

    kind: str
    group: str
    alertname: str
    matchers_key: str
    change: dict[str, Any] = field(default_factory=dict)
    header: str = ""


@dataclass
class ReviewPatch:
    week: str
    team: Team | None
    diff: str
    files: list[str]
    # Decisions that are in the diff, and those that are not with the reason.
    included: list[Decision]
    skipped: list[tuple[Decision, str]]


def tune_change_validate(change: dict[str, Any]) -> dict[str, str | None]:
    """A tune decision's proposed change: `for` and/or `keep_firing_for`, each a Prometheus
    duration ("10m"), or "0s" to remove it. Raises PatchError naming the problem."""
    clean: dict[str, str | None] = {}
    for key, value in change.items():
        if key not in TUNE_KEYS:
            raise PatchError(f"A tune changes only {' and '.join(TUNE_KEYS)}, not {key!r}.")
        if value in (None, ""):
            continue
        try:
            seconds = duration_parse(str(value)).total_seconds()
        except ValueError as error:
            raise PatchError(f"{key}: {error}") from None
        clean[key] = None if seconds == 0 else str(value).strip()
    return clean


def _lines(text: str) -> list[str]:
    return _LINES.findall(text)


def _scalar(node: Any) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _get(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in mapping.value:
        if _scalar(key_node) == key:
            return key_node, value_node
    return None


def _rule_key(rule: yaml.MappingNode) -> tuple[str, str] | None:
    alert = _get(rule, "alert")
    if alert is None or _scalar(alert[1]) is None:
        return None
    labels = _get(rule, "labels")
    matchers: dict[str, str] = {}
    if labels is not None and isinstance(labels[1], yaml.MappingNode):
        for key_node, value_node in labels[1].value:
            name, value = _scalar(key_node), _scalar(value_node)
            if name in _SYSTEM_LABELS and value is not None:
                matchers[name] = value
    return str(_scalar(alert[1])), matchers_key(matchers)


def _last_line(node: yaml.Node) -> int:
    """0-based last line a node's text occupies. A block collection ends where the next token
    starts, so its last line is its last child's."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    mark = node.end_mark
    return mark.line - 1 if mark.column == 0 and mark.line > node.start_mark.line else mark.line


class _File:
    """A rule file's lines and YAML nodes, and the edits queued on them (applied bottom-up)."""

    def __init__(self, text: str, path: str) -> None:
        if _OTHER_BREAKS.search(text):
            raise PatchError(f"{path} has line breaks other than \\n; edit it by hand.")
        try:
            rule_file_load(text, filename=path)  # the one loader's checks and budgets
        except RuleFileError as error:
            raise PatchError(str(error)) from None
        self.path = path
        self.lines = _lines(text)
        self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        # (start line, end line exclusive) → replacement lines
        self.ops: dict[tuple[int, int], list[str]] = {}
        # Per `rules:` key line: the key node and the rules removed from its list.
        self.removed: dict[int, tuple[yaml.Node, yaml.SequenceNode, set[int]]] = {}

    def groups(self) -> list[tuple[str, yaml.Node, yaml.SequenceNode]]:
        if not isinstance(self.root, yaml.MappingNode):
            return []
        found = _get(self.root, "groups")
        if found is None or not isinstance(found[1], yaml.SequenceNode):
            return []
        result = []
        for group in found[1].value:
            if not isinstance(group, yaml.MappingNode):
                continue
            rules = _get(group, "rules")
            if rules is None or not isinstance(rules[1], yaml.SequenceNode):
                continue
            name = _get(group, "name")
            result.append((_scalar(name[1]) or "" if name else "", rules[0], rules[1]))
        return result

    def find(self, edit: RuleEdit) -> tuple[yaml.Node, yaml.SequenceNode, yaml.MappingNode]:
        candidates = []
        for name, rules_key, rules in self.groups():
            for rule in rules.value:
                if not isinstance(rule, yaml.MappingNode):
                    continue
                if _rule_key(rule) == (edit.alertname, edit.matchers_key):
                    candidates.append((name == edit.group, rules_key, rules, rule))
        if not candidates:
            raise PatchError(f"{edit.alertname} is not in {self.path} any more.")
        candidates.sort(key=lambda c: not c[0])
        _, rules_key, rules, rule = candidates[0]
        if rules.flow_style or rule.flow_style:
            raise PatchError(f"{self.path}: the rule is written in flow style; edit it by hand.")
        return rules_key, rules, rule

    def _span(self, rule: yaml.MappingNode) -> tuple[int, int, int]:
        """(first line, last line + 1, column of its `-`)."""
        start = rule.start_mark.line
        line = self.lines[start]
        dash = line.rfind("-", 0, rule.start_mark.column)
        if dash < 0 or line[:dash].strip():
            raise PatchError(f"{self.path} line {start + 1}: start the rule on its `- ` line.")
        return start, _last_line(rule) + 1, dash

    def remove(self, edit: RuleEdit, *, comment: bool) -> None:
        rules_key, rules, rule = self.find(edit)
        start, end, dash = self._span(rule)
        if comment:
            pad = " " * dash
            body = [_commented(ln, dash) for ln in self.lines[start:end]]
            replacement = ([pad + "# " + edit.header + "\n"] if edit.header else []) + body
        else:
            replacement = []
        self.ops[(start, end)] = replacement
        entry = self.removed.setdefault(rules_key.start_mark.line, (rules_key, rules, set()))
        entry[2].add(start)

    def tune(self, edit: RuleEdit) -> None:
        _, _, rule = self.find(edit)
        self._span(rule)
        indent = rule.start_mark.column
        after = _get(rule, "for") or _get(rule, "expr") or rule.value[-1]
        insert_at = _last_line(after[1]) + 1
        inserts: list[str] = []
        for key in TUNE_KEYS:
            if key not in edit.change:
                continue
            value = edit.change[key]
            found = _get(rule, key)
            if found is None:
                if value is not None:
                    inserts.append(f"{' ' * indent}{key}: {value}\n")
                continue
            key_node, value_node = found
            line_no = key_node.start_mark.line
            if value_node.start_mark.line != line_no or _last_line(value_node) != line_no:
                raise PatchError(f"{self.path} line {line_no + 1}: {key} spans lines.")
            line = self.lines[line_no]
            if value is None:
                self.ops[(line_no, line_no + 1)] = []
            else:
                s, e = value_node.start_mark.column, value_node.end_mark.column
                self.ops[(line_no, line_no + 1)] = [line[:s] + str(value) + line[e:]]
        if inserts:
            self.ops[(insert_at, insert_at)] = inserts

    def text(self) -> str:
        lines = list(self.lines)
        ops = dict(self.ops)
        for line_no, (key, rules, gone) in self.removed.items():
            # A group whose every rule goes keeps an empty list (`rules:` alone is null).
            if len(gone) < len(rules.value):
                continue
            line = lines[line_no]
            colon = line.index(":", key.end_mark.column)
            ops.setdefault((line_no, line_no + 1), [line[: colon + 1] + " []" + line[colon + 1 :]])
        for (start, end), replacement in sorted(ops.items(), key=lambda o: o[0], reverse=True):
            lines[start:end] = replacement
        return "".join(lines)


def _commented(line: str, column: int) -> str:
    """The line commented out at `column` (or at its start, if less indented)."""
    end = line[len(line.rstrip("\r\n")) :]
    if not line.strip():
        return " " * column + "#" + end
    if line[:column].strip():
        return "# " + line
    return line[:column] + "# " + line[column:]


def rule_file_patch(text: str, path: str, edits: list[RuleEdit]) -> tuple[str, list[str]]:
    """The edited text of one file, and an error per edit that could not be made (in order;
    "" for those made)."""
    file = _File(text, path)
    errors = []
    for edit in edits:
        try:
            if edit.kind == Kind.TUNE:
                file.tune(edit)
            else:
                file.remove(edit, comment=edit.kind == Kind.RETIRE)
            errors.append("")
        except PatchError as error:
            errors.append(str(error))
    return file.text(), errors


def unified_diff(path: str, before: str, after: str) -> str:
    """A `git apply`-able diff of one file ("\\ No newline at end of file" included)."""
    if before == after:
        return ""
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in difflib.unified_diff(
        _lines(before), _lines(after), fromfile=f"a/{path}", tofile=f"b/{path}", n=3
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def rule_file_text(path: str) -> str | None:
    """The file as last imported, else as it is under STEWARD_RULES_ROOT, else None."""
    stored = RuleFileText.objects.filter(path=path).values_list("text", flat=True).first()
    if stored is not None:
        return stored
    root = settings.STEWARD_RULES_ROOT
    if root and not Path(path).is_absolute():
        candidate = (Path(root) / path).resolve()
        if candidate.is_relative_to(Path(root).resolve()) and candidate.is_file():
            try:
                return candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
    return None


def week_patch_decisions(*, week: str, team: Team | None) -> list[Decision]:
    """The week's prune, retire and tune decisions (the latest per rule), not undone."""
    decisions = Decision.objects.filter(week=week, kind__in=PATCH_KINDS, undone_at__isnull=True)
    if team is not None:
        decisions = decisions.filter(Q(rule__owner_team=team) | Q(review__team=team))
    latest: dict[int, Decision] = {}
    for decision in decisions.select_related("rule").order_by("-decided_at", "-id"):
        latest.setdefault(decision.rule_id, decision)
    return sorted(latest.values(), key=lambda d: (d.rule.source_file, d.pk))


def _change(decision: Decision) -> dict[str, Any]:
    try:
        return dict(tune_change_validate(dict(decision.proposed_change or {})))
    except PatchError:
        return {}


def _header(decision: Decision) -> str:
    note = " ".join(decision.note.split())[:200]
    return f"Retired in the review of {decision.week} (Steward decision {decision.pk})" + (
        f": {note}" if note else ""
    )


def review_patch(*, week: str, team: Team | None) -> ReviewPatch:
    """The diff carrying out the week's prune/retire/tune decisions on the imported files."""
    included: list[Decision] = []
    skipped: list[tuple[Decision, str]] = []
    by_file: dict[str, list[Decision]] = defaultdict(list)
    for decision in week_patch_decisions(week=week, team=team):
        rule = decision.rule
        if decision.carried_out_at is not None:
            skipped.append((decision, f"carried out: {decision.carried_out_note}"))
        elif not rule.source_file:
            skipped.append((decision, "the rule was not imported from a file"))
        elif decision.kind == Kind.TUNE and not decision.proposed_change:
            skipped.append((decision, "the tune names no new for/keep_firing_for"))
        else:
            by_file[rule.source_file].append(decision)
    diffs: list[str] = []
    files: list[str] = []
    for path, decisions in sorted(by_file.items()):
        text = rule_file_text(path)
        if text is None:
            reason = f"the text of {path} is unknown: run import_rules on it"
            skipped.extend((d, reason) for d in decisions)
            continue
        edits = [
            RuleEdit(
                kind=d.kind,
                group=d.rule.source_group,
                alertname=d.rule.alertname,
                matchers_key=d.rule.matchers_key,
                change=_change(d),
                header=_header(d) if d.kind == Kind.RETIRE else "",
            )
            for d in decisions
        ]
        try:
            after, errors = rule_file_patch(text, path, edits)
        except PatchError as error:
            skipped.extend((d, str(error)) for d in decisions)
            continue
        for decision, problem in zip(decisions, errors, strict=True):
            if problem:
                skipped.append((decision, problem))
            else:
                included.append(decision)
        diff = unified_diff(path, text, after)
        if diff:
            diffs.append(diff)
            files.append(path)
    return ReviewPatch(week, team, "".join(diffs), files, included, skipped)
