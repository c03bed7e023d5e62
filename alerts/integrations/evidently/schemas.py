"""Validation of Evidently test results: the JSON of a test suite run (`TestSuite.json()` /
`as_dict()`, or a snapshot's `tests` list), POSTed by the pipeline that ran it.

Required: `tests`, a list of objects with `name` and `status` (SUCCESS, FAIL, WARNING, ERROR,
SKIPPED). Optional: `timestamp` (ISO time of the run), `description`/`group` per test, and
`metadata.system`. Unknown fields are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from alerts.integrations.payload import PayloadError, field, obj, optional_text, text, timestamp

STATUSES = ("SUCCESS", "FAIL", "WARNING", "ERROR", "SKIPPED")


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    status: str
    description: str
    group: str


@dataclass(frozen=True, slots=True)
class TestRun:
    timestamp: datetime
    system: str
    tests: list[TestResult]


def test_run(payload: object) -> TestRun:
    data = obj(payload, "The body")
    raw_tests = field(data, "tests", "body")
    if not isinstance(raw_tests, list):
        raise PayloadError("body.tests must be an array.")
    moment = data.get("timestamp")
    metadata = obj(data.get("metadata") or {}, "body.metadata")
    return TestRun(
        timestamp=timezone.now() if moment is None else _time(moment),
        system=optional_text(metadata, "system", "body.metadata"),
        tests=[_test(item, f"body.tests[{i}]") for i, item in enumerate(raw_tests)],
    )


def _time(value: object) -> datetime:
    # Evidently writes naive ISO times in UTC ("2024-05-02T10:00:00.123456"); a pipeline may
    # also send RFC 3339 with "Z" or an offset ("-05:00"), which is taken as it is.
    if isinstance(value, str) and _is_naive(value):
        value = value + "+00:00"
    return timestamp(value, "body.timestamp")


def _is_naive(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False  # timestamp() names the problem


def _test(value: object, where: str) -> TestResult:
    data = obj(value, where)
    status = text(field(data, "status", where), f"{where}.status").upper()
    if status not in STATUSES:
        raise PayloadError(f"{where}.status must be one of {', '.join(STATUSES)}, got {status!r}.")
    return TestResult(
        name=text(field(data, "name", where), f"{where}.name", allow_empty=False),
        status=status,
        description=optional_text(data, "description", where),
        group=optional_text(data, "group", where),
    )
