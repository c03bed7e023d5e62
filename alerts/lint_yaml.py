"""YAML loading that remembers line numbers, so lint violations can point at the line."""

from __future__ import annotations

from typing import Any

import yaml


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


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_with_lines(text: str) -> Any:
    """Parse one YAML document; raise YamlError with the line of the problem."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise YamlError(line, f"Invalid YAML: {message}.") from error
    except yaml.YAMLError as error:
        raise YamlError(1, f"Invalid YAML: {error}.") from error
