"""The access rules of fleet.access, each written once."""

from __future__ import annotations

import pytest

from fleet.access import may_edit_or_claim


@pytest.mark.parametrize(
    ("team_id", "fleet_admin", "team_ids", "allowed"),
    [
        (1, True, set(), True),  # staff / fleet-wide token: anything
        (None, True, set(), True),
        (1, False, {1}, True),  # a member edits the team's objects
        (1, False, {2}, False),  # another team's object
        (None, False, {2}, True),  # an unowned object may be claimed by anyone with a team
        (None, False, set(), False),  # ...but not by someone with no team to claim it for
    ],
)
def test_may_edit_or_claim(
    team_id: int | None, fleet_admin: bool, team_ids: set[int], allowed: bool
) -> None:
    assert may_edit_or_claim(team_id, fleet_admin=fleet_admin, team_ids=team_ids) is allowed
