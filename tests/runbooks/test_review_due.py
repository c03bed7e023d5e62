"""A review date the calendar cannot hold is a 400 naming the field, not a 500 (found by
schemathesis: tests/config/test_api_schema.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fleet.models import Team
from runbooks.models import Runbook
from tests.api_helpers import session_client


@pytest.mark.parametrize(
    ("reviewed", "days"),
    [
        ("4649-01-05T00:00:00Z", 2064447),
        ("9999-12-30T00:00:00Z", 2),
        ("2026-01-01T00:00:00Z", 10**7),
    ],
)
def test_a_next_review_after_the_year_9999_is_a_400(
    team: Team, member: User, reviewed: str, days: int
) -> None:
    response = session_client(member).post(
        "/api/v1/runbooks/",
        {
            "slug": "rb",
            "title": "RB",
            "owner_team": team.slug,
            "last_reviewed_at": reviewed,
            "review_interval_days": days,
        },
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "review_interval_days" in response.json()["error"]["fields"]
    assert not Runbook.objects.exists()


def test_a_far_but_possible_next_review_is_stored(team: Team, member: User) -> None:
    response = session_client(member).post(
        "/api/v1/runbooks/",
        {
            "slug": "rb",
            "title": "RB",
            "owner_team": team.slug,
            "last_reviewed_at": "9999-01-01T00:00:00Z",
            "review_interval_days": 300,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Runbook.objects.get().review_due_at.year == 9999
