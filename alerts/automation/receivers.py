"""Placeholder replaced below."""

from typing import Any


def schedule_automatic_triggers(sender: Any, **kwargs: Any) -> None:
    return None


def connect_cache_invalidation() -> None:
    return None
