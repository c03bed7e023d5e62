"""The one Alertmanager API v2 silences client.

`ALERTMANAGER_URL` may name several Alertmanagers of an HA cluster (comma-separated;
`alerts.integrations.alertmanager.urls`). Reads ask every peer and merge the answers, so each
silence counts once by id (the newest `updatedAt` wins while gossip catches up); writes go to
the first peer that answers, and the cluster gossips them to the others.

A peer that cannot be reached, times out or answers 5xx raises `AlertmanagerUnavailable`
(callers retry: Celery backoff); a request Alertmanager refuses (4xx: a bad matcher, an end
before the start) raises `AlertmanagerRejected` with Alertmanager's own message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from alerts.integrations.alertmanager.urls import alertmanager_urls
from alerts.silences.matchers import Matcher, MatcherError, matchers_from_api, matchers_to_api

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0
_MESSAGE_CHARS = 300


class AlertmanagerUnavailable(Exception):
    """No Alertmanager answered (connection refused, timeout, 5xx): try again later."""


class AlertmanagerRejected(ValueError):
    """Alertmanager refused the request (4xx); the message is Alertmanager's."""


@dataclass(frozen=True, slots=True)
class SilenceData:
    """One silence as Alertmanager API v2 lists it."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # active, pending or expired
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SilenceData:
        try:
            return cls(
                id=str(data["id"]),
                matchers=tuple(matchers_from_api(data.get("matchers") or [])),
                starts_at=parse_time(data["startsAt"]),
                ends_at=parse_time(data["endsAt"]),
                created_by=str(data.get("createdBy") or ""),
                comment=str(data.get("comment") or ""),
                state=str((data.get("status") or {}).get("state") or ""),
                updated_at=parse_time(data["updatedAt"]) if data.get("updatedAt") else None,
            )
        except (KeyError, TypeError, ValueError, MatcherError) as error:
            raise AlertmanagerRejected(f"Unreadable silence from Alertmanager: {error}") from error


@dataclass(slots=True)
class SilenceListing:
    """What `silences_fetch` read: the merged silences, and which peers answered."""

    silences: list[SilenceData] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


_FRACTION = re.compile(r"\.(\d{6})\d+")


def parse_time(text: str) -> datetime:
    """Alertmanager's RFC 3339 times (Z, offsets, up to nanoseconds) as aware UTC datetimes."""
    value = datetime.fromisoformat(_FRACTION.sub(r".\1", text.replace("Z", "+00:00")))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _urls(urls: str | Sequence[str] | None) -> list[str]:
    found = alertmanager_urls(urls)
    if not found:
        raise AlertmanagerUnavailable("ALERTMANAGER_URL is not set.")
    return found


def _message(response: requests.Response) -> str:
    text = response.text.strip()
    try:
        body = response.json()
        if isinstance(body, str):
            text = body
        elif isinstance(body, dict):
            text = str(body.get("message") or body.get("error") or text)
    except ValueError:
        pass
    return text[:_MESSAGE_CHARS]


def _request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request to one peer; unavailability and refusals become our two exceptions."""
    try:
        response = requests.request(
            method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False, **kwargs
        )
    except requests.RequestException as error:
        raise AlertmanagerUnavailable(f"{method} {url}: {type(error).__name__}") from error
    if response.status_code == 500 and _message(response) == "silence not found":
        # Alertmanager 0.25 answers an unknown silence id with a 500: it is a 404.
        response.status_code = 404
    if response.status_code >= 500:
        raise AlertmanagerUnavailable(
            f"{method} {url}: HTTP {response.status_code} {_message(response)}"
        )
    return response


def silences_fetch(urls: str | Sequence[str] | None = None) -> SilenceListing:
    """Every silence of every peer, merged by id; raises only when no peer answers."""
    listing = SilenceListing()
    merged: dict[str, SilenceData] = {}
    for url in _urls(urls):
        try:
            response = _request("GET", f"{url}/api/v2/silences")
        except AlertmanagerUnavailable as error:
            listing.unreachable[url] = str(error)
            continue
        if response.status_code != 200:
            listing.unreachable[url] = f"HTTP {response.status_code} {_message(response)}"
            continue
        try:
            items = response.json()
        except ValueError:
            listing.unreachable[url] = "the answer is not JSON"
            continue
        listing.reached.append(url)
        for item in items if isinstance(items, list) else []:
            silence = SilenceData.from_api(item)
            known = merged.get(silence.id)
            if known is None or _newer(silence, known):
                merged[silence.id] = silence
    if not listing.reached:
        raise AlertmanagerUnavailable(
            "No Alertmanager answered: "
            + "; ".join(f"{url}: {why}" for url, why in listing.unreachable.items())
        )
    listing.silences = sorted(merged.values(), key=lambda s: (s.starts_at, s.id))
    return listing


def _newer(candidate: SilenceData, known: SilenceData) -> bool:
    if candidate.updated_at is None or known.updated_at is None:
        return False
    return candidate.updated_at > known.updated_at


def silences_list(urls: str | Sequence[str] | None = None) -> list[SilenceData]:
    """Every silence (active, pending, expired) of the cluster, each once by id."""
    return silences_fetch(urls).silences


def silence_get(urls: str | Sequence[str] | None, silence_id: str) -> SilenceData | None:
    """One silence by id from the first peer that answers; None when no peer knows it."""
    for url in _urls(urls):
        try:
            response = _request("GET", f"{url}/api/v2/silence/{silence_id}")
        except AlertmanagerUnavailable:
            continue
        if response.status_code == 404:
            continue
        if response.status_code != 200:
            raise AlertmanagerRejected(_message(response))
        return SilenceData.from_api(response.json())
    return None


def _first_reachable(
    urls: str | Sequence[str] | None, method: str, path: str, **kwargs: Any
) -> requests.Response:
    errors: list[str] = []
    for url in _urls(urls):
        try:
            return _request(method, f"{url}{path}", **kwargs)
        except AlertmanagerUnavailable as error:
            errors.append(str(error))
    raise AlertmanagerUnavailable("No Alertmanager answered: " + "; ".join(errors))


def silence_create(
    urls: str | Sequence[str] | None,
    *,
    matchers: Iterable[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    silence_id: str | None = None,
) -> str:
    """Create a silence (or update the one with `silence_id`); returns the id Alertmanager
    answers. Keep that id: an update that changes more than the end or the comment of a live
    silence expires the old one and answers a new id."""
    body: dict[str, Any] = {
        "matchers": matchers_to_api(matchers),
        "startsAt": format_time(starts_at),
        "endsAt": format_time(ends_at),
        "createdBy": created_by,
        "comment": comment,
    }
    if silence_id:
        body["id"] = silence_id
    response = _first_reachable(urls, "POST", "/api/v2/silences", json=body)
    if response.status_code != 200:
        raise AlertmanagerRejected(_message(response))
    try:
        return str(response.json()["silenceID"])
    except (ValueError, KeyError, TypeError) as error:
        raise AlertmanagerRejected(f"Unexpected answer: {_message(response)}") from error


def silence_expire(urls: str | Sequence[str] | None, silence_id: str) -> bool:
    """Expire a silence now. Expiring an expired silence succeeds (Alertmanager answers 200);
    an id no peer knows returns False, not an error: no live silence with this id is the goal."""
    response = _first_reachable(urls, "DELETE", f"/api/v2/silence/{silence_id}")
    if response.status_code == 200:
        return True
    if response.status_code == 404:
        return False
    raise AlertmanagerRejected(_message(response))


def silenced_alerts(urls: str | Sequence[str] | None = None) -> dict[str, int]:
    """Silence id → how many alerts it holds back now (`status.silencedBy` of the alerts the
    first answering peer holds; every peer of a cluster holds the same alerts)."""
    response = _first_reachable(
        urls,
        "GET",
        "/api/v2/alerts",
        params={"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"},
    )
    if response.status_code != 200:
        raise AlertmanagerRejected(_message(response))
    counts: dict[str, int] = {}
    for alert in response.json():
        for silence_id in (alert.get("status") or {}).get("silencedBy") or []:
            counts[silence_id] = counts.get(silence_id, 0) + 1
    return counts
