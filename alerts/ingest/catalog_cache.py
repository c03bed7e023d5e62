"""The rules and AI systems the webhooks match against, remembered in this process (issue 18).

Every delivery needs the rule candidates of its alertnames and the ids of the AI systems its
labels name. Looking them up cost two of a one-alert delivery's database round trips, for an
answer that changes a few times a day. They are kept here per process:

- saving or deleting an AlertRule or an AISystem (forms, admin, imports, the API, commands: all
  go through `save()`/`delete()`) forgets everything in the process that does it, at once and
  again when its transaction commits, so the next delivery in that process matches a rule just
  created, edited or deleted;
- other processes (the other gunicorn workers, other machines) see such a change within
  CATALOG_CACHE_SECONDS (10 s, the webhook token cache's delay): until then a delivery may still
  be attributed as the rules were (an alert goes to the catch-all rule instead of a rule created
  with matchers a few seconds before, or keeps the old system);
- an alertname this process knows no rule for is looked up again before an uncatalogued rule is
  created for it, so a rule created elsewhere is never duplicated by a stale entry;
- a delivery that names a rule or system deleted elsewhere fails its foreign key: the caller
  forgets everything and stores the delivery again once (`delivery_ingest`), nothing is lost.

Entries are only stored when nothing was forgotten while they were read (a generation number),
so a thread that read the catalog just before a change cannot put the old state back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from alerts.models import AlertRule
from alerts.selectors import rule_candidates
from fleet.models import AISystem
from tokens.auth_cache import TOKEN_CACHE_SECONDS

CATALOG_CACHE_SECONDS = TOKEN_CACHE_SECONDS
_SYSTEM_TABLE = AISystem._meta.db_table
_MAX_ENTRIES = 10_000
_IN_CHUNK = 500

_lock = threading.Lock()
_generation = 0
# alertname -> (candidate rules, monotonic expiry); slug -> (system id, or None for a slug no
# system has, expiry).
_rules: dict[str, tuple[list[AlertRule], float]] = {}
_systems: dict[str, tuple[int | None, float]] = {}


def cached_rule_candidates(
    alertnames: Iterable[str], *, fresh: bool = False
) -> tuple[dict[str, list[AlertRule]], set[str]]:
    """`rule_candidates` for these alertnames, from this process's memory when it is recent,
    and the alertnames that were read from the database just now.

    `fresh` reads them from the database whatever is remembered (before creating a rule)."""
    names = set(alertnames)
    now = time.monotonic()
    found: dict[str, list[AlertRule]] = {}
    missing: list[str] = []
    for name in names:
        entry = None if fresh else _rules.get(name)
        if entry is not None and entry[1] > now:
            found[name] = entry[0]
        else:
            missing.append(name)
    if missing:
        generation = _generation
        loaded = rule_candidates(missing)
        expiry = time.monotonic() + CATALOG_CACHE_SECONDS
        with _lock:
            if generation == _generation:
                if len(_rules) + len(loaded) > _MAX_ENTRIES:
                    _rules.clear()
                # Only alertnames that have rules: one without is about to get its catch-all.
                for name, rules in loaded.items():
                    _rules[name] = (rules, expiry)
        found.update(loaded)
    return found, set(missing)


def cached_system_ids(slugs: Iterable[str]) -> dict[str, int]:
    """The ids of the AI systems with these slugs (unknown slugs are left out)."""
    wanted = set(slugs) - {""}
    now = time.monotonic()
    found: dict[str, int | None] = {}
    missing: list[str] = []
    for slug in wanted:
        entry = _systems.get(slug)
        if entry is not None and entry[1] > now:
            found[slug] = entry[0]
        else:
            missing.append(slug)
    if missing:
        generation = _generation
        loaded = _system_ids(sorted(missing))
        expiry = time.monotonic() + CATALOG_CACHE_SECONDS
        with _lock:
            if generation == _generation:
                if len(_systems) + len(missing) > _MAX_ENTRIES:
                    _systems.clear()
                for slug in missing:
                    _systems[slug] = (loaded.get(slug), expiry)
        for slug in missing:
            found[slug] = loaded.get(slug)
    return {slug: pk for slug, pk in found.items() if pk is not None}


def _system_ids(slugs: list[str]) -> dict[str, int]:
    # Raw SQL: slugs and ids need no conversion.
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(slugs), _IN_CHUNK):
            chunk = slugs[start : start + _IN_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT slug, id FROM {_SYSTEM_TABLE} WHERE slug IN ({marks})", chunk)  # noqa: S608
            found.update(cursor.fetchall())
    return found


def catalog_forget() -> None:
    """Forget every remembered rule and system in this process."""
    global _generation  # noqa: PLW0603 (the process-wide generation number)
    with _lock:
        _generation += 1
        _rules.clear()
        _systems.clear()


def _changed(sender: Any, **kwargs: Any) -> None:
    # At once (this thread's next delivery, inside the same transaction) and after the commit
    # (another thread may have read the old rows in between and must not keep them).
    catalog_forget()
    transaction.on_commit(catalog_forget, robust=True)


for _model in (AlertRule, AISystem):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"catalog-cache-save-{_model.__name__}")
    post_delete.connect(
        _changed, sender=_model, dispatch_uid=f"catalog-cache-delete-{_model.__name__}"
    )
