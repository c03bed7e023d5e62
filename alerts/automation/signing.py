"""HMAC-SHA256 request signatures, for Steward (signing) and for receivers (verifying).

Steward sends two headers with every action request:

    X-Steward-Timestamp: 1764866400              (Unix seconds when it was signed)
    X-Steward-Signature: sha256=<hex HMAC-SHA256(key, f"{timestamp}.{body}")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in
constant time, and refuses timestamps further than a few minutes from its clock (replays).
`signature_verify` does exactly that and has no dependency on Django: copy it into a receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Steward-Timestamp"
SIGNATURE_HEADER = "X-Steward-Signature"
IDEMPOTENCY_HEADER = "X-Steward-Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(key: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(key: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(key, timestamp, body),
    }


def signature_verify(
    key: str,
    *,
    timestamp: str | None,
    body: bytes,
    signature_header: str | None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `signature_header` signs `body` at `timestamp` with `key`, within tolerance."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        return False
    expected = signature(key, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())
