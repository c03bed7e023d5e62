"""When an interruption hurts: business hours, off-hours and sleep hours, in the owner team's
timezone. The one definition, used in SQL by the weekly statistics (alerts.noise.statistics)
and in Python by forecasts and replays (`interruption_kind`).

- sleep: 22:00–08:00 local time, every day;
- business: Monday–Friday 08:00–18:00 local time;
- off: every other hour (evenings and weekends awake).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLEEP_FROM_HOUR = 22
SLEEP_UNTIL_HOUR = 8
BUSINESS_FROM_HOUR = 8
BUSINESS_UNTIL_HOUR = 18
BUSINESS_WEEKDAYS = 5  # Monday (0) to Friday (4)

SLEEP = "sleep"
BUSINESS = "business"
OFF = "off"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad name was rejected on save; never crash a forecast


def interruption_kind(moment: datetime, timezone_name: str | None) -> str:
    """SLEEP, BUSINESS or OFF for an interruption at `moment` (aware) in that timezone."""
    local = moment.astimezone(_zone(timezone_name))
    if local.hour >= SLEEP_FROM_HOUR or local.hour < SLEEP_UNTIL_HOUR:
        return SLEEP
    weekday = local.weekday() < BUSINESS_WEEKDAYS
    if weekday and BUSINESS_FROM_HOUR <= local.hour < BUSINESS_UNTIL_HOUR:
        return BUSINESS
    return OFF


def sleep_hours_label() -> str:
    """ "22–08", for messages."""
    return f"{SLEEP_FROM_HOUR:02d}–{SLEEP_UNTIL_HOUR:02d}"
