"""Small validators shared by the sources' `schemas.py`: each error names the field at fault."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from core.weeks import FIRST_YEAR, LAST_YEAR, week_in_range

# Go's zero time: Alertmanager's "no end" on a firing alert.
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


class PayloadError(ValueError):
    """A payload that can never be ingested (answered 4xx, logged as a rejected delivery)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def obj(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a JSON object, got {_kind(value)}.")
    return value


def field(data: Mapping[str, object], name: str, where: str) -> object:
    if name not in data:
        raise PayloadError(f"{where}.{name} is required.")
    return data[name]


def text(value: object, where: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string, got {_kind(value)}.")
    if not allow_empty and not value:
        raise PayloadError(f"{where} must not be empty.")
    return value


def optional_text(data: Mapping[str, object], name: str, where: str) -> str:
    value = data.get(name)
    return "" if value is None else text(value, f"{where}.{name}")


# PostgreSQL's integer: the largest count a delivery stores.
MAX_COUNT = 2**31 - 1


def integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{where} must be an integer, got {_kind(value)}.")
    return value


def count(value: object, where: str) -> int:
    """A non-negative integer that fits the database."""
    number = integer(value, where)
    if number < 0:
        raise PayloadError(f"{where} must not be negative, got {number}.")
    if number > MAX_COUNT:
        raise PayloadError(f"{where} must be at most {MAX_COUNT}, got {number}.")
    return number


def string_map(value: object, where: str) -> dict[str, str]:
    mapping = obj(value, where)
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{key} must be a string, got {_kind(item)}.")
    return mapping  # type: ignore[return-value]


def timestamp(value: object, where: str, *, zero_ok: bool = False) -> datetime:
    """An RFC 3339 time (Go's nanoseconds are truncated to microseconds), in the weeks
    Steward keeps; `zero_ok` also lets Go's zero time (ZERO_TIME, "no end") through."""
    raw = text(value, where)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"{where} must be an RFC 3339 time, got {raw!r}.") from None
    if moment.tzinfo is None:
        raise PayloadError(f"{where} must carry a time zone, got {raw!r}.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is in year 0 in UTC, 9999-12-31T23:59:59-01:00 in 10000.
        raise _out_of_range(where, raw) from None
    if zero_ok and moment == ZERO_TIME:
        return moment
    return in_range(moment, where, raw)


def in_range(moment: datetime, where: str, raw: object) -> datetime:
    """`moment` if it falls in the weeks Steward keeps, else a PayloadError naming `where`."""
    if not week_in_range(moment):
        raise _out_of_range(where, raw)
    return moment


def _out_of_range(where: str, raw: object) -> PayloadError:
    return PayloadError(
        f"{where} is out of range: {raw!r} (Steward keeps the years {FIRST_YEAR} to {LAST_YEAR})."
    )


def epoch_millis(value: object, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{where} must be milliseconds since the epoch, got {_kind(value)}.")
    try:
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _out_of_range(where, value) from None
    return in_range(moment, where, value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
