from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fleet.models import AISystem, Team
from fleet_coverage.models import SLO
from tests.coverage.conftest import GOOD, TOTAL


def test_owner_team_defaults_to_the_systems_team(make_slo: Callable[..., SLO], team: Team) -> None:
    assert make_slo().owner_team == team


def test_explicit_owner_team_is_kept(make_slo: Callable[..., SLO]) -> None:
    other = Team.objects.create(slug="platform", name="Platform")
    assert make_slo(owner_team=other).owner_team == other


def test_sli_needs_exactly_one_form(make_slo: Callable[..., SLO]) -> None:
    with pytest.raises(ValidationError, match="not both"):
        make_slo(ratio_query="avg_over_time(probe_success[$window])")
    with pytest.raises(ValidationError, match="as good and total queries, or as one ratio"):
        make_slo(good_query="", total_query="")
    with pytest.raises(ValidationError, match="go together"):
        make_slo(total_query="")


def test_ratio_form_alone_is_valid(make_slo: Callable[..., SLO]) -> None:
    slo = make_slo(good_query="", total_query="", ratio_query="avg_over_time(up[$window])")
    assert slo.pk is not None


def test_queries_must_contain_the_window_placeholder(make_slo: Callable[..., SLO]) -> None:
    with pytest.raises(ValidationError) as caught:
        make_slo(good_query="sum(rate(ok_total[5m]))")
    assert "good_query" in caught.value.message_dict


@pytest.mark.parametrize("objective", ["0", "100", "120", "-1"])
def test_objective_is_a_percentage_strictly_between_0_and_100(
    make_slo: Callable[..., SLO], objective: str
) -> None:
    with pytest.raises(ValidationError):
        make_slo(objective=Decimal(objective))


def test_window_is_28_or_30_days(make_slo: Callable[..., SLO]) -> None:
    with pytest.raises(ValidationError):
        make_slo(window_days=7)


def test_slug_is_unique_per_system_only(make_slo: Callable[..., SLO], team: Team) -> None:
    make_slo()
    with pytest.raises(ValidationError):
        make_slo()
    other = AISystem.objects.create(slug="recommender", name="Recommender", owner_team=team)
    assert make_slo(system=other, good_query=GOOD, total_query=TOTAL).pk


def test_error_budget_is_exact(make_slo: Callable[..., SLO]) -> None:
    assert make_slo(objective=Decimal("99.9")).error_budget == Decimal("0.001")
