"""Only members of the owning team, or staff, change a runbook: on the form and on the POST."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

EDIT = "/runbooks/fraud-latency/edit/"


def edit_data(runbook: Runbook, body: str) -> dict[str, object]:
    return {
        "title": runbook.title,
        "owner_team": runbook.owner_team_id,
        "review_interval_days": 90,
        "body": body,
    }


def test_another_teams_member_cannot_open_the_edit_form(
    client: Client, other_team_member: User, runbook: Runbook
) -> None:
    client.force_login(other_team_member)

    response = client.get(EDIT)

    assert response.status_code == 403
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_another_teams_member_cannot_post_an_edit(
    client: Client, other_team_member: User, runbook: Runbook
) -> None:
    client.force_login(other_team_member)

    response = client.post(EDIT, edit_data(runbook, "defaced"))

    assert response.status_code == 403
    runbook.refresh_from_db()
    assert runbook.body != "defaced"
    assert runbook.revisions.count() == 1


def test_another_teams_member_cannot_mark_reviewed(
    client: Client, other_team_member: User, runbook: Runbook
) -> None:
    client.force_login(other_team_member)

    response = client.post("/runbooks/fraud-latency/review/")

    assert response.status_code == 403
    runbook.refresh_from_db()
    assert runbook.last_reviewed_at is None


def test_another_teams_member_sees_no_edit_controls(
    client: Client, other_team_member: User, runbook: Runbook
) -> None:
    client.force_login(other_team_member)

    html = client.get("/runbooks/fraud-latency/").content.decode()

    assert 'href="/runbooks/fraud-latency/edit/"' not in html
    assert "Mark reviewed" not in html


def test_staff_can_edit_any_runbook(
    client: Client, make_user: Callable[..., User], runbook: Runbook
) -> None:
    client.force_login(make_user("admin", staff=True))

    form = client.get(EDIT)
    response = client.post(EDIT, edit_data(runbook, "fixed by staff"))

    assert form.status_code == 200
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.body == "fixed by staff"


def test_unowned_runbook_is_staff_only(
    client: Client, member: User, make_user: Callable[..., User], runbook: Runbook
) -> None:
    Runbook.objects.filter(pk=runbook.pk).update(owner_team=None)
    client.force_login(member)
    assert client.get(EDIT).status_code == 403

    client.force_login(make_user("admin", staff=True))
    assert client.get(EDIT).status_code == 200
