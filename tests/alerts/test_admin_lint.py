from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Waiver


def test_staff_grants_a_waiver_in_the_admin_and_becomes_its_approver(
    make_user: Callable[..., User],
) -> None:
    admin = make_user("root", staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/alerts/waiver/").status_code == 200
    response = client.post(
        "/admin/alerts/waiver/add/",
        {
            "alertname": "FeatureDriftHigh",
            "lint_check": "runbook_url",
            "reason": "Runbook due next sprint",
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    waiver = Waiver.objects.get()
    assert waiver.approver == admin and waiver.is_active()
