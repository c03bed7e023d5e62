"""When a page interrupts: business hours, off hours or sleep, in the owner team's local time.

The one definition: the weekly statistics (alerts/noise/statistics.py) build their SQL from
these hours, and the replay (alerts/replay/) classifies replayed pages with
`interruption_kind`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SLEEP_FROM_HOUR = 22  # local hour at which sleep starts
SLEEP_UNTIL_HOUR = 8  # local hour at which sleep ends
BUSINESS_FROM_HOUR = 8
BUSINESS_UNTIL_HOUR = 18
BUSINESS_WEEKDAYS = 5  # Monday (0) to Friday (4)

BUSINESS = "business"
OFF = "off"
SLEEP = "sleep"


def interruption_kind(moment: datetime, zone: ZoneInfo) -> str:
    """BUSINESS, OFF or SLEEP for a page at `moment` to a team in `zone`."""
    local = moment.astimezone(zone)
    if local.hour >= SLEEP_FROM_HOUR or local.hour < SLEEP_UNTIL_HOUR:
        return SLEEP
    if (
        local.weekday() < BUSINESS_WEEKDAYS
        and BUSINESS_FROM_HOUR <= local.hour < BUSINESS_UNTIL_HOUR
    ):
        return BUSINESS
    return OFF
