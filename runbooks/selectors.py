"""Read-side queries of the runbooks app (lists, history, diffs)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from fleet.access import is_fleet_admin, team_ids_for_user
from fleet.models import Team
from runbooks.models import Runbook, RunbookRevision

if TYPE_CHECKING:
    # For the annotation only: the runbooks layer sits below alerts and reads the rules that
    # point at a runbook through the reverse relation, without importing the alerts app.
    from alerts.models import AlertRule


def runbook_list(*, team_slug: str = "", stale: str = "") -> QuerySet[Runbook]:
    """Runbooks with owner team and linked-rules count, filtered by team slug and freshness.

    `stale` is "1" (only stale), "0" (only fresh) or empty (all).
    """
    runbooks = Runbook.objects.select_related("owner_team").annotate(
        rules_count=Count("alert_rules")
    )
    if team_slug:
        runbooks = runbooks.filter(owner_team__slug=team_slug)
    if stale == "1":
        runbooks = runbooks.stale()
    elif stale == "0":
        runbooks = runbooks.fresh()
    return runbooks.order_by("title")


def runbook_get(*, slug: str) -> Runbook:
    return get_object_or_404(Runbook.objects.select_related("owner_team"), slug=slug)


def runbook_rules(*, runbook: Runbook) -> QuerySet[AlertRule]:
    return runbook.alert_rules.select_related("owner_team", "system").order_by(
        "alertname", "matchers_key"
    )


def runbook_revisions(*, runbook: Runbook) -> QuerySet[RunbookRevision]:
    return runbook.revisions.select_related("author").order_by("-created_at", "-id")


def teams_for_owner_choice(user: Any) -> QuerySet[Team]:
    """Teams a user may give a runbook to: their own, or every team for staff."""
    if is_fleet_admin(user):
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=team_ids_for_user(user)).order_by("name")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk" or "ctx"
    text: str


def revision_diff(older: RunbookRevision, newer: RunbookRevision) -> list[DiffLine]:
    """Unified diff of two revisions (title and body) as typed lines; templates escape them."""
    before = [f"# {older.title}", "", *older.body.splitlines()]
    after = [f"# {newer.title}", "", *newer.body.splitlines()]
    lines = []
    for line in difflib.unified_diff(before, after, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind=kind, text=line))
    return lines


# --- The on-call page ------------------------------------------------------------------------
