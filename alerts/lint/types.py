"""Data of the lint gate: violations, alert entries, the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from alerts.lint.yamlfile import LineDict
from core.choices import Severity

PAGE_MIN_FOR = timedelta(minutes=2)
PAGING = {Severity.PAGE.value, Severity.CRITICAL.value}


class LintLimitError(ValueError):
    """A lint request beyond a parsing budget of `core.limits`: refused as a whole (a 400 on
    the API), since linting part of it would pass a gate that never saw the rest."""


class Status:
    ERROR = "error"
    WAIVED = "waived"
    WARNING = "warning"


@dataclass
class Violation:
    file: str
    line: int
    group: str
    alert: str
    check: str
    message: str
    status: str = Status.ERROR
    waiver: dict[str, Any] | None = None


@dataclass
class AlertEntry:
    """One alert rule of a file, with where it is."""

    file: str
    group: str
    rule: LineDict
    alert: str
    expr: str
    for_duration: timedelta | None
    labels: dict[str, str]
    annotations: dict[str, str]
    keep_firing_for: timedelta | None = None
    # The group's `interval:` (None: Prometheus's global evaluation_interval).
    group_interval: timedelta | None = None


@dataclass
class LintReport:
    files: int = 0
    groups: int = 0
    alerts: int = 0
    recording_rules: int = 0
    violations: list[Violation] = field(default_factory=list)
    forecasts: list[dict[str, Any]] = field(default_factory=list)
    # `--forecast --base`: the comparison of the base files with the new (lint.forecast).
    forecast_change: dict[str, Any] | None = None

    @property
    def errors(self) -> int:
        return sum(v.status == Status.ERROR for v in self.violations)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "groups": self.groups,
            "alerts": self.alerts,
            "recording_rules": self.recording_rules,
            "errors": self.errors,
            "waived": sum(v.status == Status.WAIVED for v in self.violations),
            "warnings": sum(v.status == Status.WARNING for v in self.violations),
            "violations": [asdict(v) for v in self.violations],
            "forecasts": self.forecasts,
            "forecast_change": self.forecast_change,
        }


def string_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in value.items()}
