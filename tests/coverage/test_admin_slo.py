from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule
from fleet.models import AISystem
from fleet_coverage.models import SLO
from tests.coverage.conftest import GOOD, TOTAL


def test_admin_add_page_is_prefilled_from_the_scorecard_link(
    client: Client, make_user: Callable[..., User], system: AISystem
) -> None:
    client.force_login(make_user("admin", staff=True, is_superuser=True))
    response = client.get(f"/admin/coverage/slo/add/?system={system.pk}")
    assert response.status_code == 200
    assert f'<option value="{system.pk}" selected>' in response.content.decode()


def test_saving_in_the_admin_catalogues_the_generated_alerts(
    client: Client, make_user: Callable[..., User], system: AISystem
) -> None:
    client.force_login(make_user("admin", staff=True, is_superuser=True))
    response = client.post(
        "/admin/coverage/slo/add/",
        {
            "system": system.pk,
            "name": "Availability",
            "slug": "availability",
            "good_query": GOOD,
            "total_query": TOTAL,
            "ratio_query": "",
            "objective": "99.9",
            "window_days": "30",
            "layer": "ml",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    slo = SLO.objects.get()
    assert slo.owner_team == system.owner_team
    assert AlertRule.objects.filter(matchers_key="slo=availability", layer="ml").count() == 2


def test_admin_rejects_an_sli_in_both_forms(
    client: Client, make_user: Callable[..., User], system: AISystem
) -> None:
    client.force_login(make_user("admin", staff=True, is_superuser=True))
    response = client.post(
        "/admin/coverage/slo/add/",
        {
            "system": system.pk,
            "name": "A",
            "slug": "a",
            "good_query": GOOD,
            "total_query": TOTAL,
            "ratio_query": "avg_over_time(up[$window])",
            "objective": "99.9",
            "window_days": "30",
            "layer": "ml",
        },
    )
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not SLO.objects.exists()
