"""Validation of the Datadog webhook payload that Steward documents (README.md, "Other sources").

Datadog's webhook body is a template the user pastes into the Webhooks integration tile; its
`$VARIABLES` are filled in as strings. Required: `alert_id` ($ALERT_ID), `alert_title`
($ALERT_TITLE), `alert_transition` ($ALERT_TRANSITION), `date` ($DATE, epoch milliseconds).
Optional: `alert_scope`, `tags`, `alert_type`, `alert_priority`, `alert_cycle_key`, `link`,
`event_msg`, `alert_query`, `id`. Unknown fields are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from alerts.integrations.payload import PayloadError, field, in_range, obj, optional_text, text

# $ALERT_TRANSITION values that end an alert.
RECOVERY_TRANSITIONS = {"recovered", "re-recovered", "resolved"}


@dataclass(frozen=True, slots=True)
class DatadogEvent:
    alert_id: str
    title: str
    transition: str
    date: datetime
    scope: str
    tags: str
    alert_type: str
    priority: str
    cycle_key: str
    link: str
    message: str
    query: str

    @property
    def recovered(self) -> bool:
        return self.transition.lower() in RECOVERY_TRANSITIONS or self.alert_type == "success"


def datadog_event(payload: object) -> DatadogEvent:
    data = obj(payload, "The body")
    return DatadogEvent(
        alert_id=text(field(data, "alert_id", "body"), "body.alert_id", allow_empty=False),
        title=text(field(data, "alert_title", "body"), "body.alert_title", allow_empty=False),
        transition=text(
            field(data, "alert_transition", "body"), "body.alert_transition", allow_empty=False
        ),
        date=_date(field(data, "date", "body")),
        scope=optional_text(data, "alert_scope", "body"),
        tags=optional_text(data, "tags", "body"),
        alert_type=optional_text(data, "alert_type", "body").lower(),
        priority=optional_text(data, "alert_priority", "body"),
        cycle_key=optional_text(data, "alert_cycle_key", "body"),
        link=optional_text(data, "link", "body"),
        message=optional_text(data, "event_msg", "body"),
        query=optional_text(data, "alert_query", "body"),
    )


def _date(value: object) -> datetime:
    """$DATE is epoch milliseconds, as a string once templated (a number is accepted too)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError('body.date must be $DATE: epoch milliseconds, e.g. "1406662672000".')
    seconds = value / 1000 if value > 10**11 else value
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"body.date is out of range: {value!r}.") from None
    return in_range(moment, "body.date", value)
