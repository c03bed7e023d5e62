from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from fleet.models import AISystem, Team
from fleet_coverage.models import SLO
from fleet_coverage.slo.services import slo_save

GOOD = 'sum(rate(http_requests_total{job="fraud-scorer",code!~"5.."}[$window]))'
TOTAL = 'sum(rate(http_requests_total{job="fraud-scorer"}[$window]))'


@pytest.fixture
def system(team: Team) -> AISystem:
    return AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)


@pytest.fixture
def make_slo(system: AISystem) -> Callable[..., SLO]:
    def make(**fields: Any) -> SLO:
        values: dict[str, Any] = {
            "system": system,
            "name": "Availability",
            "slug": "availability",
            "good_query": GOOD,
            "total_query": TOTAL,
            "objective": Decimal("99.5"),
            "window_days": 30,
            "layer": "infra",
        }
        values.update(fields)
        return slo_save(slo=SLO(), **values)

    return make
