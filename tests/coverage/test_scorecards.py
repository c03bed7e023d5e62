from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, RuleFlag
from core.weeks import current_week, week_shift
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO, ScorecardSnapshot
from fleet_coverage.scorecards.selectors import (
    fleet_score,
    scorecard_for_system,
    scorecards_for,
    system_score_trend,
    systems_in_scope,
    team_scores,
)
from fleet_coverage.scorecards.services import scorecard_snapshots_write
from fleet_coverage.tasks import snapshot_scorecards
from runbooks.models import Runbook

# Scorecards read the clock (current week, noisy streaks, runbook ages, trend weeks): pin it.
pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def fresh_runbook(team: Team) -> Runbook:
    return Runbook.objects.create(
        slug="fraud", title="Fraud", owner_team=team, last_reviewed_at=timezone.now()
    )


@pytest.fixture
def covered(
    system: AISystem, member: object, fresh_runbook: Runbook, make_slo: Callable[..., SLO]
) -> AISystem:
    """A system with everything the doctrine asks for."""
    for layer in ("infra", "ml", "business"):
        AlertRule.objects.create(
            alertname=f"Fraud{layer.title()}",
            layer=layer,
            severity="ticket",
            system=system,
            owner_team=system.owner_team,
            runbook=fresh_runbook,
        )
    make_slo(runbook=fresh_runbook)
    return system


def _codes(system: AISystem) -> list[str]:
    return scorecard_for_system(system=system).missing_codes


def test_fully_covered_system_scores_100(covered: AISystem) -> None:
    card = scorecard_for_system(system=covered)
    assert card.score == 100
    assert card.missing == []
    assert card.rules == 5 and card.slos == 1


def test_missing_layer_is_named_with_a_prefilled_add_link(covered: AISystem) -> None:
    AlertRule.objects.filter(alertname="FraudMl").update(status="pruned")
    card = scorecard_for_system(system=covered)
    assert card.missing_codes == ["layer:ml"]
    assert card.score == 85
    item = card.missing[0]
    assert "ML operation" in item.text
    assert item.fix_url == (
        f"/admin/alerts/alertrule/add/?system={covered.pk}&layer=ml&owner_team={covered.owner_team_id}"
    )


def test_missing_slo(covered: AISystem) -> None:
    SLO.objects.all().delete()
    card = scorecard_for_system(system=covered)
    assert card.missing_codes == ["slo"]
    assert card.score == 80
    assert card.missing[0].fix_url.startswith(f"/admin/coverage/slo/add/?system={covered.pk}")


def test_rule_without_owner_and_rule_of_an_empty_team(covered: AISystem) -> None:
    empty = Team.objects.create(slug="ghosts", name="Ghosts")
    AlertRule.objects.filter(alertname="FraudMl").update(owner_team=None)
    AlertRule.objects.filter(alertname="FraudBusiness").update(owner_team=empty)
    # A rule without a team of its own is its system's team's (alerts.catalog.ownership)...
    assert scorecard_for_system(system=covered).missing_codes == ["unowned:FraudBusiness"]
    # ...so it has no owner only when the system has none either.
    AISystem.objects.filter(pk=covered.pk).update(owner_team=None)
    covered.refresh_from_db()
    card = scorecard_for_system(system=covered)
    assert card.missing_codes == ["unowned:FraudBusiness", "unowned:FraudMl"]
    texts = {item.code: item for item in card.missing}
    assert "no members" in texts["unowned:FraudBusiness"].text
    assert texts["unowned:FraudBusiness"].fix_url == f"/admin/fleet/team/{empty.pk}/change/"
    rule = AlertRule.objects.get(alertname="FraudMl")
    assert texts["unowned:FraudMl"].fix_url == f"/admin/alerts/alertrule/{rule.pk}/change/"
    assert card.score == 100 - round(15 * 2 / 5)


def test_missing_and_stale_runbooks(covered: AISystem, team: Team) -> None:
    stale = Runbook.objects.create(
        slug="old", title="Old", last_reviewed_at=timezone.now() - timedelta(days=400)
    )
    AlertRule.objects.filter(alertname="FraudMl").update(runbook=None)
    AlertRule.objects.filter(alertname="FraudInfra").update(runbook=stale)
    card = scorecard_for_system(system=covered)
    assert card.missing_codes == ["stale_runbook:FraudInfra", "no_runbook:FraudMl"]
    links = {item.code: item.fix_url for item in card.missing}
    assert links["no_runbook:FraudMl"] == "/runbooks/new/?alertname=FraudMl"
    assert links["stale_runbook:FraudInfra"] == "/runbooks/old/"
    assert card.score == 100 - round(10 * 2 / 5)


def test_noisy_three_weeks_in_a_row_is_missing_but_two_is_not(covered: AISystem) -> None:
    rule = AlertRule.objects.get(alertname="FraudInfra")
    last = week_shift(current_week(), -1)
    for week in (last, week_shift(last, -1)):
        RuleFlag.objects.create(rule=rule, week=week, flag="noisy", message="47 fires")
    assert _codes(covered) == []
    RuleFlag.objects.create(rule=rule, week=week_shift(last, -3), flag="noisy", message="x")
    assert _codes(covered) == []  # a gap breaks the streak
    RuleFlag.objects.create(rule=rule, week=week_shift(last, -2), flag="noisy", message="x")
    card = scorecard_for_system(system=covered)
    assert card.missing_codes == ["noisy:FraudInfra"]
    assert "4 weeks in a row" in card.missing[0].text
    assert card.missing[0].fix_url == f"/alerts/{rule.pk}/"
    assert card.score == 98


def test_other_flags_do_not_count_as_noisy(covered: AISystem) -> None:
    rule = AlertRule.objects.get(alertname="FraudInfra")
    for back in range(4):
        RuleFlag.objects.create(
            rule=rule, week=week_shift(current_week(), -back), flag="flapping", message="x"
        )
    assert _codes(covered) == []


def test_bare_system_misses_layers_and_slo(system: AISystem) -> None:
    card = scorecard_for_system(system=system)
    assert card.missing_codes == ["layer:infra", "layer:ml", "layer:business", "slo"]
    assert card.score == 35


def test_scorecards_are_worst_first_and_skip_retired_systems(covered: AISystem, team: Team) -> None:
    AISystem.objects.create(slug="bare", name="Bare", owner_team=team)
    AISystem.objects.create(slug="gone", name="Gone", lifecycle="retired")
    cards = scorecards_for(systems_in_scope())
    assert [c.system.slug for c in cards] == ["bare", "fraud-scorer"]
    teams = team_scores(cards)
    assert [(t.team, t.systems, t.score, t.complete) for t in teams] == [(team, 2, 68, 1)]
    assert fleet_score(cards).score == 68


def test_scorecards_take_a_constant_number_of_queries(
    covered: AISystem, team: Team, django_assert_num_queries: Callable[..., object]
) -> None:
    for i in range(10):
        other = AISystem.objects.create(slug=f"s{i}", name=f"S{i}", owner_team=team)
        AlertRule.objects.create(alertname=f"A{i}", system=other, layer="ml", owner_team=team)
    with django_assert_num_queries(4):  # type: ignore[operator]
        cards = scorecards_for(systems_in_scope())
    assert len(cards) == 11


def test_snapshots_feed_the_trend_and_rerun_overwrites(covered: AISystem) -> None:
    week = current_week()
    assert scorecard_snapshots_write(week=week_shift(week, -1)) == 1
    SLO.objects.all().delete()
    assert snapshot_scorecards.delay().get() == 1
    assert snapshot_scorecards.name == "fleet.snapshot_scorecards"
    assert system_score_trend(system=covered) == [100.0, 80.0]
    call_command("snapshot_scorecards")
    assert ScorecardSnapshot.objects.count() == 2
    snapshot = ScorecardSnapshot.objects.get(week=week)
    assert snapshot.missing == ["slo"]


def test_snapshot_command_rejects_a_bad_week(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO week"):
        call_command("snapshot_scorecards", "--week", "2026-47")


def test_scorecards_page_lists_worst_first_with_bounded_queries(
    covered: AISystem,
    team: Team,
    member: object,
    client: Client,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    for i in range(8):
        AISystem.objects.create(slug=f"bare-{i}", name=f"Bare {i}", owner_team=team)
    scorecard_snapshots_write(week=week_shift(current_week(), -1))
    client.force_login(member)  # type: ignore[arg-type]
    # session, user, systems, alerts, SLOs, noisy flags, fleet trend, team trends, team filter
    with django_assert_max_num_queries(9):  # type: ignore[operator]
        response = client.get("/scorecards/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Bare 0") < body.index("Fraud scorer")
    assert "/runbooks/new/" not in body
    assert f"/admin/coverage/slo/add/?system={AISystem.objects.get(slug='bare-0').pk}" in body
    assert "<svg" in body and "fraud-ml-slo-rules.yml" in body


def test_scorecards_page_filters(covered: AISystem, member: object, client: Client) -> None:
    other_team = Team.objects.create(slug="recs", name="Recs")
    AISystem.objects.create(slug="recommender", name="Recommender", owner_team=other_team)
    client.force_login(member)  # type: ignore[arg-type]
    body = client.get("/scorecards/?team=recs").content.decode()
    assert "Recommender" in body and "Fraud scorer" not in body
    body = client.get("/scorecards/?incomplete=1").content.decode()
    assert "Recommender" in body and "Fraud scorer" not in body
    body = client.get("/scorecards/?kind=agent").content.decode()
    assert "No systems match" in body


def test_scorecards_page_needs_login(client: Client, db: None) -> None:
    response = client.get("/scorecards/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_scorecard_include_renders_for_the_fleet_page(covered: AISystem) -> None:
    from django.template.loader import render_to_string

    from fleet_coverage.scorecards.selectors import system_scorecard_context

    SLO.objects.all().delete()
    scorecard_snapshots_write()
    html = render_to_string("fleet/_scorecard.html", system_scorecard_context(system=covered))
    assert "80 / 100" in html
    assert "Define an SLO" in html
    assert "<svg" in html


def test_rules_of_other_systems_do_not_count(team: Team, member: object) -> None:
    a = AISystem.objects.create(slug="a", name="A", owner_team=team)
    AlertRule.objects.create(alertname="OnlyA", system=a, layer="ml", owner_team=team)
    b = AISystem.objects.create(slug="b", name="B")
    cards = {c.system.slug: c for c in scorecards_for(systems_in_scope())}
    assert (cards["a"].rules, cards["b"].rules) == (1, 0)
    assert "layer:ml" in cards["b"].missing_codes
    assert "layer:ml" not in cards["a"].missing_codes
    assert b.pk
