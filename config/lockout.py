"""The page a login gets while django-axes locks it out (AXES_LOCKOUT_CALLABLE).

django-axes counts failures per username and client address (AXES_LOCKOUT_PARAMETERS). Once
AXES_FAILURE_LIMIT is reached, every login for that pair is refused, the right password too,
until AXES_COOLOFF_TIME has passed since the last counted failure: were the right password let
through, the lockout would not slow a guesser down at all. Attempts made while locked are not
counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False), so the end time the page shows
holds however often the person retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_ends_at(
    *, username: str, ip_address: str, cool_off: timedelta, now: datetime
) -> datetime:
    """When logins for `username` from `ip_address` are accepted again: the cool-off after the
    last recorded failure (`now` plus the cool-off if axes recorded none, e.g. another handler)."""
    last_failure = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time")
    )["last"]
    return (last_failure or now) + cool_off


def lockout_page(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """429 in the site's layout: how long, until when, and how an administrator lifts it."""
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    now: datetime = getattr(request, "axes_attempt_time", None) or timezone.now()
    username = get_client_username(request, credentials) or ""
    ends_at = lockout_ends_at(
        username=username,
        ip_address=getattr(request, "axes_ip_address", ""),
        cool_off=cool_off,
        now=now,
    )
    context = {
        "username": username,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(cool_off.total_seconds() // 60),
        "ends_at": ends_at,
        "now": now,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(max(1, int((ends_at - now).total_seconds())))
    return response
