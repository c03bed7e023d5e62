"""Alertmanager's fingerprint of a label set, so that every source names an alert the same way.

This is Prometheus' `model.LabelSet.Fingerprint()`: FNV-1a (64 bit) over the label names in
sorted order, each name and value followed by the separator byte 0xff, printed as 16 hex digits
(`Fingerprint.String()`). Backfilled episodes and webhook episodes of one firing therefore share
their fingerprint and merge instead of doubling.
"""

from __future__ import annotations

from collections.abc import Mapping

_OFFSET64 = 14695981039346656037
_PRIME64 = 1099511628211
_MASK64 = (1 << 64) - 1
_SEPARATOR = 0xFF


def _add(digest: int, data: bytes) -> int:
    for byte in data:
        digest ^= byte
        digest = (digest * _PRIME64) & _MASK64
    return digest


def fingerprint(labels: Mapping[str, str]) -> str:
    digest = _OFFSET64
    for name in sorted(labels):
        digest = _add(digest, name.encode())
        digest = ((digest ^ _SEPARATOR) * _PRIME64) & _MASK64
        digest = _add(digest, labels[name].encode())
        digest = ((digest ^ _SEPARATOR) * _PRIME64) & _MASK64
    return f"{digest:016x}"
