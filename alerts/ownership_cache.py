"""Invalidation of the ownership cache: any change to what an answer depends on (rules,
teams, memberships, systems, runbooks, users) bumps one version number, so every cached
entry becomes unreachable at once.

With Redis as the cache (REDIS_URL) all workers see the bump immediately; with the
process-local fallback other processes see a change within OWNERSHIP_CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from alerts.models import AlertRule
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook

OWNERSHIP_CACHE_SECONDS = 30
_VERSION_KEY = "steward:ownership:version"


def sha1_hex(text: str) -> str:
    """Cache keys must be short and free of spaces and control characters."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def ownership_cache_version() -> int:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, 1, timeout=None)
        version = cache.get(_VERSION_KEY, 1)
    return int(version)


def ownership_cache_bump(**kwargs: Any) -> None:
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 2, timeout=None)


for _model in (AlertRule, Team, Membership, AISystem, Runbook, User):
    post_save.connect(ownership_cache_bump, sender=_model, dispatch_uid=f"ownership-{_model}")
    post_delete.connect(ownership_cache_bump, sender=_model, dispatch_uid=f"ownership-d-{_model}")
