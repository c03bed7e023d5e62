"""Who may change what: members of the owning team, or staff.

Every page, form handler and API permission goes through these helpers so that the rule is
written once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fleet.models import Membership


def team_ids_for_user(user: Any) -> set[int]:
    """Ids of the teams whose objects this user (or token) may change."""
    if user is None or not user.is_authenticated:
        return set()
    token = getattr(user, "token", None)
    if token is not None:
        return {token.team_id} if token.team_id is not None else set()
    return set(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def is_fleet_admin(user: Any) -> bool:
    """Staff users, and tokens not tied to a team, act fleet-wide."""
    if user is None or not user.is_authenticated:
        return False
    token = getattr(user, "token", None)
    if token is not None:
        return token.team_id is None
    return bool(user.is_staff)


def can_edit_team_object(user: Any, team_id: int | None) -> bool:
    """May `user` change an object owned by `team_id`? Unowned objects need fleet admin."""
    if is_fleet_admin(user):
        return True
    return team_id is not None and team_id in team_ids_for_user(user)


def may_edit_or_claim(team_id: int | None, *, fleet_admin: bool, team_ids: Collection[int]) -> bool:
    """Edit an object of `team_id`, or claim it for one's team when it has no owner.

    From facts looked up once, so that a page listing many objects asks no query per object;
    `can_edit_or_claim` looks them up for one object.
    """
    if fleet_admin or (team_id is not None and team_id in team_ids):
        return True
    return team_id is None and bool(team_ids)


def can_edit_or_claim(user: Any, team_id: int | None) -> bool:
    """May `user` change (or, when unowned, claim) an object owned by `team_id`?"""
    admin = is_fleet_admin(user)
    return may_edit_or_claim(
        team_id, fleet_admin=admin, team_ids=set() if admin else team_ids_for_user(user)
    )
