"""Invalidation of the ownership cache: any change to what an answer depends on (rules,
teams, memberships, systems, runbooks, the names of users) bumps one version number, so
every cached entry becomes unreachable at once. A login saves the user's last_login only,
which no answer reads: it leaves the cache alone.

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
# The user fields an answer shows (a team lead's username and name).
_USER_FIELDS_READ = frozenset({"username", "first_name", "last_name"})


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


def _user_saved(update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    if update_fields is None or update_fields & _USER_FIELDS_READ:
        ownership_cache_bump()


for _model in (AlertRule, Team, Membership, AISystem, Runbook, User):
    post_delete.connect(ownership_cache_bump, sender=_model, dispatch_uid=f"ownership-d-{_model}")
    if _model is not User:
        post_save.connect(ownership_cache_bump, sender=_model, dispatch_uid=f"ownership-{_model}")
post_save.connect(_user_saved, sender=User, dispatch_uid="ownership-user")
