from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision, Review
from alerts.review.exports import md_escape
from core.weeks import week_shift
from fleet.models import Team
from tests.alerts.review.conftest import flag

TRICKY = 'Keep: "quoted", comma, new\nline, =SUM(A1) and **bold** [link](http://x)'


def _seed(member: User, make_rule: Callable[..., AlertRule], team: Team, week: str) -> AlertRule:
    rule = make_rule("FraudScoreDrift", owner_team=team, severity="page")
    flag(rule, week, "noisy", "47 fires, 3x the 4-week median of 15")
    flag(rule, week, "ignored", "2 of 47 episodes engaged with")
    review = Review.objects.create(week=week, team=team, started_at=timezone.now(), notes=TRICKY)
    review.attendees.add(member)
    Decision.objects.create(
        review=review,
        rule=rule,
        week=week,
        kind="keep",
        note=TRICKY,
        decided_by=member,
        owner=member,
    )
    other = make_rule("OldAction", owner_team=team)
    Decision.objects.create(
        rule=other,
        week=week_shift(week, -3),
        kind="runbook",
        note="write it",
        decided_at=timezone.now() - timedelta(days=20),
    )
    return rule


def test_csv_minutes_parse_back_with_quoting_intact(
    client: Client, member: User, make_rule: Callable[..., AlertRule], team: Team, week: str
) -> None:
    _seed(member, make_rule, team, week)
    client.force_login(member)
    response = client.get(f"/review/{week}/minutes.csv?team={team.slug}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))

    by_section = {row["section"]: row for row in rows}
    assert by_section["attendees"]["note"] == "member"
    agenda = by_section["agenda"]
    assert agenda["rule"] == "FraudScoreDrift"
    assert agenda["flags"] == "noisy ignored"
    assert "47 fires, 3x the 4-week median of 15" in agenda["evidence"]
    assert agenda["decision"] == "keep"
    assert agenda["note"] == TRICKY  # commas, quotes and the newline survive
    action = by_section["open_action"]
    assert (action["rule"], action["decision"], action["age_days"]) == (
        "OldAction",
        "runbook",
        "20",
    )


def test_csv_neutralises_formulas() -> None:
    from alerts.review.exports import _cell

    assert _cell("=SUM(A1)") == "'=SUM(A1)"
    assert _cell("@cmd") == "'@cmd"
    assert _cell("plain") == "plain"


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r", "\n"])
def test_csv_neutralises_every_formula_lead_owasp_lists(lead: str) -> None:
    from alerts.review.exports import _cell

    assert _cell(lead + "cmd|' /C calc'!A0") == "'" + lead + "cmd|' /C calc'!A0"


def test_markdown_minutes_list_attendees_notes_items_and_actions_escaped(
    client: Client, member: User, make_rule: Callable[..., AlertRule], team: Team, week: str
) -> None:
    _seed(member, make_rule, team, week)
    client.force_login(member)
    response = client.get(f"/review/{week}/minutes.md?team={team.slug}")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith(f"# Alert review {week} — Fraud ML")
    assert "**Attendees:** member" in text
    assert "1. **FraudScoreDrift** — Fraud ML, severity page" in text
    assert "Noisy: 47 fires, 3x the 4\\-week median of 15" in text
    assert "**Keep**" in text
    assert "\\*\\*bold\\*\\* \\[link\\]\\(http://x\\)" in text
    assert "**bold**" not in text
    assert "OldAction" in text and "20 days" in text


def test_md_escape_flattens_newlines_and_escapes_markup() -> None:
    assert md_escape("# title\n- item") == "\\# title \\- item"
    assert md_escape("<script>") == "\\<script\\>"


def test_minutes_of_a_week_without_meeting_say_so(client: Client, member: User, week: str) -> None:
    client.force_login(member)
    text = client.get(f"/review/{week}/minutes.md").content.decode()
    assert "The meeting has not been started." in text
    assert "## Agenda (0 rules)" in text
