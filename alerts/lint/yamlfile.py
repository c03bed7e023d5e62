"""Prometheus rule files: the one loader (`rule_file_load`), which remembers line numbers so
that the lint gate, `import_rules` and the shipped self-alerts all point at the line."""

from __future__ import annotations

from typing import Any

import yaml

from core.limits import YAML_MAX_ALIAS_NODES, YAML_MAX_DEPTH


class LineDict(dict[Any, Any]):
    """A mapping with the 1-based line of itself, of each key and of each value."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict(loader.construct_pairs(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    mapping.value_lines = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            mapping.key_lines[key_node.value] = key_node.start_mark.line + 1
            # A block scalar (`expr: |`) starts on the line after its indicator.
            block = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">")
            mapping.value_lines[key_node.value] = value_node.start_mark.line + 1 + int(block)
    return mapping


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    """YAML's int, but a number too long for Python's int conversion (over 4,300 digits) is a
    YAML error at its line instead of a ValueError from deep inside the parser."""
    try:
        return int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, "a number too long to read", node.start_mark
        ) from None


_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class RuleFileError(ValueError):
    """A rule file that cannot be read: `str()` is "<file> line <n>: <message>".

    `syntax` tells invalid YAML apart from YAML that is not a rule file.
    """

    def __init__(self, filename: str, line: int, message: str, *, syntax: bool) -> None:
        super().__init__(f"{filename} line {line}: {message}")
        self.filename = filename
        self.line = line
        self.message = message
        self.syntax = syntax


class RuleFileLimitError(RuleFileError):
    """A rule file beyond a parsing budget of `core.limits` (nesting, aliases)."""


def rule_file_load(text: str, *, filename: str) -> LineDict:
    """The mapping of a Prometheus rule file, with lines; its `groups` is a list.

    Raises RuleFileError naming the file and line of the problem.
    """
    try:
        _check_budget(text, filename)
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise RuleFileError(filename, line, f"Invalid YAML: {message}.", syntax=True) from None
    except yaml.YAMLError as error:
        raise RuleFileError(filename, 1, f"Invalid YAML: {error}.", syntax=True) from None
    if not isinstance(document, LineDict) or not isinstance(document.get("groups"), list):
        line = _first_line(text) if not isinstance(document, LineDict) else document.line
        raise RuleFileError(
            filename,
            line,
            "Not a Prometheus rule file: expected a mapping with a `groups:` list.",
            syntax=False,
        )
    return document


def _check_budget(text: str, filename: str) -> None:
    """Refuse, before anything is built, a file nested deeper than YAML_MAX_DEPTH or whose
    aliases would add more than YAML_MAX_ALIAS_NODES nodes once expanded.

    Walks the parser's events, which is iterative: the composer and constructor recurse, so a
    deep file would otherwise end in a RecursionError. Each open collection counts the nodes
    it holds (aliases counted expanded), so the size of every anchor is known when an alias
    names it, and a billion-laughs file is measured without being built.
    """
    anchor_sizes: dict[str, int] = {}
    # One frame per open collection: [its anchor, nodes in it so far].
    open_nodes: list[list[Any]] = [[None, 0]]
    added = 0
    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, yaml.AliasEvent):
            size = anchor_sizes.get(event.anchor or "", 1)
            open_nodes[-1][1] += size
            added += size
            if added > YAML_MAX_ALIAS_NODES:
                raise RuleFileLimitError(
                    filename,
                    _line(event),
                    f"Aliases expand the file too much: they may add at most "
                    f"{YAML_MAX_ALIAS_NODES:,} nodes to it (write the rules out instead).",
                    syntax=False,
                )
        elif isinstance(event, yaml.ScalarEvent):
            open_nodes[-1][1] += 1
            if event.anchor:
                anchor_sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) - 1 > YAML_MAX_DEPTH:
                raise RuleFileLimitError(
                    filename,
                    _line(event),
                    f"The YAML is nested more than {YAML_MAX_DEPTH} levels deep.",
                    syntax=False,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_nodes.pop()
            open_nodes[-1][1] += size
            if anchor:
                anchor_sizes[anchor] = size


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _first_line(text: str) -> int:
    """The first line holding YAML content (a list or a scalar carries no line of its own)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            return number
    return 1
