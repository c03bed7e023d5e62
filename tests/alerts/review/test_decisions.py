from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision, Review
from alerts.review.services import can_decide, decision_record
from core.weeks import week_shift
from fleet.models import Membership, Team
from tests.alerts.review.conftest import flag


def _decide(client: Client, week: str, rule: AlertRule, **data: Any) -> Any:
    payload = {f"rule-{rule.pk}-{key}": value for key, value in data.items()}
    return client.post(f"/review/{week}/rules/{rule.pk}/decide/", payload)


def _actions_section(html: str) -> str:
    return html[html.index('id="actions"') : html.index('id="agenda"')]


@pytest.fixture
def rule(make_rule: Callable[..., AlertRule], team: Team, week: str) -> AlertRule:
    rule = make_rule("FraudScoreDrift", owner_team=team, severity="page")
    flag(rule, week, "noisy", "47 fires")
    return rule


@pytest.mark.parametrize(("kind", "status"), [("prune", "pruned"), ("retire", "retired")])
def test_prune_and_retire_change_the_rule_status(
    client: Client, member: User, rule: AlertRule, week: str, kind: str, status: str
) -> None:
    client.force_login(member)
    response = _decide(client, week, rule, kind=kind, note="never actionable")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#rule-{rule.pk}")
    rule.refresh_from_db()
    assert rule.status == status
    decision = Decision.objects.get(rule=rule)
    assert decision.decided_by == member
    assert decision.week == week
    assert decision.done_at is None  # still to be removed from the rule files


def test_mute_sets_status_muted_at_and_muted_until(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    client.force_login(member)
    until = timezone.now().date() + timedelta(days=14)
    _decide(client, week, rule, kind="mute", mute_until=until.isoformat(), note="deploy freeze")
    rule.refresh_from_db()
    assert rule.status == "muted"
    assert rule.muted_at is not None
    assert rule.muted_until is not None and rule.muted_until.date() == until


def test_mute_in_the_past_is_refused(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    client.force_login(member)
    response = _decide(client, week, rule, kind="mute", mute_until="2020-01-01")
    assert response.status_code == 400
    # On its field: the service's error, which the form shows where it belongs.
    assert "future" in response.context["form"].errors["mute_until"][0]
    rule.refresh_from_db()
    assert rule.status == "active"


def test_reassign_moves_the_rule_to_the_other_team(
    client: Client, member: User, rule: AlertRule, week: str, other_team: Team
) -> None:
    client.force_login(member)
    _decide(client, week, rule, kind="reassign", reassign_to=other_team.pk)
    rule.refresh_from_db()
    assert rule.owner_team == other_team
    assert Decision.objects.get(rule=rule).reassign_to == other_team


def test_keep_needs_a_reason_and_is_done_at_once(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    client.force_login(member)
    refused = _decide(client, week, rule, kind="keep", note="  ")
    assert refused.status_code == 400
    assert "reason is required" in refused.content.decode()
    assert not Decision.objects.exists()
    _decide(client, week, rule, kind="keep", note="SLO burn, real incidents")
    decision = Decision.objects.get(rule=rule)
    assert decision.done_at is not None
    rule.refresh_from_db()
    assert rule.status == "active"


@pytest.mark.parametrize("kind", ["tune", "runbook"])
def test_tune_and_runbook_record_an_action_with_owner_and_due_date(
    client: Client, member: User, rule: AlertRule, week: str, kind: str
) -> None:
    client.force_login(member)
    _decide(
        client,
        week,
        rule,
        kind=kind,
        note="raise the threshold",
        owner=member.pk,
        due_date="2030-01-31",
    )
    decision = Decision.objects.get(rule=rule)
    assert (decision.kind, decision.owner, decision.due_date) == (kind, member, date(2030, 1, 31))
    assert decision.done_at is None
    rule.refresh_from_db()
    assert rule.status == "active" and rule.owner_team_id is not None


def test_member_of_another_team_gets_403_and_nothing_changes(
    client: Client,
    make_user: Callable[..., User],
    rule: AlertRule,
    week: str,
    other_team: Team,
) -> None:
    outsider = make_user("outsider")
    Membership.objects.create(team=other_team, user=outsider)
    client.force_login(outsider)
    response = _decide(client, week, rule, kind="prune", note="not mine")
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.status == "active"
    assert not Decision.objects.exists()


def test_staff_decides_for_any_team(
    client: Client, make_user: Callable[..., User], rule: AlertRule, week: str
) -> None:
    client.force_login(make_user("boss", staff=True))
    assert _decide(client, week, rule, kind="retire").status_code == 302


def test_anyone_may_claim_an_unowned_rule_for_their_team_but_not_prune_it(
    client: Client,
    make_user: Callable[..., User],
    make_rule: Callable[..., AlertRule],
    week: str,
    team: Team,
    other_team: Team,
) -> None:
    orphan = make_rule("Orphan")
    flag(orphan, week, "unowned")
    user = make_user("claimer")
    Membership.objects.create(team=team, user=user)
    client.force_login(user)

    assert _decide(client, week, orphan, kind="prune").status_code == 403
    assert (
        _decide(client, week, orphan, kind="reassign", reassign_to=other_team.pk).status_code == 403
    )
    assert _decide(client, week, orphan, kind="reassign", reassign_to=team.pk).status_code == 302
    orphan.refresh_from_db()
    assert orphan.owner_team == team


def test_decision_attaches_to_the_running_review_and_a_closed_review_refuses(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    client.force_login(member)
    review = Review.objects.create(week=week, started_at=timezone.now(), closed_at=timezone.now())
    response = _decide(client, week, rule, kind="tune", note="x")
    assert response.status_code == 400
    assert "closed" in response.content.decode()
    review.closed_at = None
    review.save()
    _decide(client, week, rule, kind="tune", note="x")
    assert Decision.objects.get().review == review


def test_open_actions_carry_over_with_their_age_until_marked_done(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    earlier = week_shift(week, -2)
    action = Decision.objects.create(
        rule=rule,
        week=earlier,
        kind="tune",
        note="add for: 5m",
        owner=member,
        decided_at=timezone.now() - timedelta(days=16),
    )
    done = Decision.objects.create(
        rule=rule, week=earlier, kind="tune", note="old and done", done_at=timezone.now()
    )
    client.force_login(member)

    for shown in (week, week_shift(week, 1)):
        actions = _actions_section(client.get(f"/review/{shown}/").content.decode())
        assert "add for: 5m" in actions and "16 days" in actions
        assert "old and done" not in actions

    response = client.post(f"/review/actions/{action.pk}/done/", {"week": week})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.done_at is not None and action.done_by == member
    assert "add for: 5m" not in _actions_section(client.get(f"/review/{week}/").content.decode())
    assert done.done_by is None


def test_outsider_cannot_mark_another_teams_action_done(
    client: Client, make_user: Callable[..., User], rule: AlertRule, week: str
) -> None:
    action = Decision.objects.create(rule=rule, week=week_shift(week, -1), kind="tune")
    client.force_login(make_user("outsider"))
    assert client.post(f"/review/actions/{action.pk}/done/").status_code == 403
    action.refresh_from_db()
    assert action.done_at is None


def test_decision_form_page_renders_on_its_own_for_no_js_fallback(
    client: Client, member: User, rule: AlertRule, week: str
) -> None:
    client.force_login(member)
    html = client.get(f"/review/{week}/rules/{rule.pk}/decide/").content.decode()
    for field in ("kind", "note", "owner", "due_date", "mute_until", "reassign_to"):
        assert f'<label for="id_rule-{rule.pk}-{field}"' in html


def test_the_service_owns_decision_validation_and_names_the_field(
    member: User, rule: AlertRule, week: str
) -> None:
    """One home for the rules of a decision (the form only delegates to decision_record)."""
    cases = {
        "note": {"kind": "keep", "note": " "},
        "mute_until": {"kind": "mute", "mute_until": timezone.now() - timedelta(days=1)},
        "reassign_to": {"kind": "reassign"},
    }
    for field, data in cases.items():
        with pytest.raises(ValidationError) as raised:
            decision_record(user=member, rule=rule, week=week, **data)
        assert set(raised.value.message_dict) == {field}


def test_one_predicate_decides_who_may_open_and_submit_the_form(
    make_user: Callable[..., User], make_rule: Callable[..., AlertRule], team: Team
) -> None:
    orphan, owned = make_rule("Orphan"), make_rule("Owned", owner_team=team)
    outsider, claimer = make_user("outsider"), make_user("claimer")
    Membership.objects.create(team=Team.objects.create(slug="x", name="X"), user=claimer)
    assert can_decide(claimer, orphan)  # may claim it: the form opens
    assert not can_decide(claimer, orphan, kind="prune")
    assert not can_decide(claimer, owned)
    assert not can_decide(outsider, orphan)  # belongs to no team: nothing to claim it for


def test_team_query_cannot_put_a_decision_into_another_teams_meeting(
    client: Client,
    member: User,
    rule: AlertRule,
    week: str,
    other_team: Team,
    make_user: Callable[..., User],
) -> None:
    """`?team=recsys` on the decide POST used to file our decision in recsys's open minutes."""
    lead = make_user("recsys-lead")
    Membership.objects.create(team=other_team, user=lead)
    meeting = Review.objects.create(week=week, team=other_team, started_at=timezone.now())
    client.force_login(member)
    response = client.post(
        f"/review/{week}/rules/{rule.pk}/decide/?team=recsys",
        {f"rule-{rule.pk}-kind": "tune", f"rule-{rule.pk}-note": "raise to 400 ms"},
    )
    assert response.status_code == 403
    assert "recsys" in response.content.decode()
    assert not meeting.decisions.exists()
    assert not Decision.objects.exists()
