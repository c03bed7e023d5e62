"""Which Alertmanager route's timing applies to a rule (route tree of alertmanager.yml).

Feasible subset of Alertmanager 0.25 routing: `matchers` (`name="v"`, `!=`, `=~`, `!~`),
the older `match` / `match_re`, nested `routes`, and inheritance of `group_wait`,
`group_interval` and `repeat_interval` from the parent. The first matching child wins
(`continue` is ignored: the first route decides the timing). Matching uses the rule's
alertname, severity and static labels (per-series labels are not known before firing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from alerts.replay.notify import Timing
from core.durations import duration_parse

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


class RoutingError(ValueError):
    """The Alertmanager configuration cannot be read."""


@dataclass(frozen=True)
class Route:
    timing: Timing
    matchers: tuple[tuple[str, str, str], ...] = ()
    routes: tuple[Route, ...] = field(default_factory=tuple)

    def matches(self, labels: Mapping[str, str]) -> bool:
        for name, op, value in self.matchers:
            have = labels.get(name, "")
            if op == "=" and have != value:
                return False
            if op == "!=" and have == value:
                return False
            if op == "=~" and not re.fullmatch(value, have):
                return False
            if op == "!~" and re.fullmatch(value, have):
                return False
        return True

    def timing_for(self, labels: Mapping[str, str]) -> Timing:
        for child in self.routes:
            if child.matches(labels):
                return child.timing_for(labels)
        return self.timing


def default_timing() -> Timing:
    return Timing(
        group_wait=timedelta(seconds=settings.STEWARD_REPLAY_GROUP_WAIT_SECONDS),
        group_interval=timedelta(seconds=settings.STEWARD_REPLAY_GROUP_INTERVAL_SECONDS),
        repeat_interval=timedelta(seconds=settings.STEWARD_REPLAY_REPEAT_INTERVAL_SECONDS),
    )


def route_tree(text: str, *, defaults: Timing | None = None) -> Route:
    """The route tree of an alertmanager.yml text."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise RoutingError(f"The Alertmanager configuration is not YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("route"), dict):
        raise RoutingError("The Alertmanager configuration has no `route`.")
    return _route(document["route"], defaults or default_timing())


def _duration(node: Mapping[str, Any], key: str, inherited: timedelta) -> timedelta:
    if key not in node:
        return inherited
    try:
        return duration_parse(str(node[key]))
    except ValueError as error:
        raise RoutingError(f"route {key}: {error}") from None


def _route(node: Mapping[str, Any], parent: Timing) -> Route:
    timing = Timing(
        group_wait=_duration(node, "group_wait", parent.group_wait),
        group_interval=_duration(node, "group_interval", parent.group_interval),
        repeat_interval=_duration(node, "repeat_interval", parent.repeat_interval),
    )
    matchers: list[tuple[str, str, str]] = []
    for text in node.get("matchers") or []:
        found = _MATCHER.match(str(text))
        if found is None:
            raise RoutingError(f'route matcher {text!r} is not name="value".')
        matchers.append((found.group(1), found.group(2), found.group(3)))
    for name, value in (node.get("match") or {}).items():
        matchers.append((str(name), "=", str(value)))
    for name, value in (node.get("match_re") or {}).items():
        matchers.append((str(name), "=~", str(value)))
    children = tuple(_route(child, timing) for child in node.get("routes") or [])
    return Route(timing=timing, matchers=tuple(matchers), routes=children)


def configured_routes() -> Route:
    """The route tree of STEWARD_ALERTMANAGER_CONFIG, else the default timings for all."""
    path = settings.STEWARD_ALERTMANAGER_CONFIG
    if not path:
        return Route(timing=default_timing())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RoutingError(f"Cannot read {path}: {error.strerror}") from None
    return route_tree(text)
