"""Two identical deliveries at the same moment still leave one episode (PostgreSQL lane)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from alerts.models import Delivery, Episode
from tests.alerts.integrations.conftest import capture
from tokens.models import ApiToken
from tokens.services import token_create


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_identical_deliveries_concurrently_keep_one_episode(require_postgres: None) -> None:
    _, raw = token_create(name="am", scope=ApiToken.Scope.INGEST)
    body = json.dumps(capture()[0])
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(timeout=5)
            response: Any = Client().post(
                "/api/v1/integrations/alertmanager/",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
            statuses.append(response.status_code)
        except BaseException as problem:  # noqa: BLE001 - reported below
            errors.append(problem)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert statuses == [200, 200]
    assert Delivery.objects.filter(outcome="accepted").count() == 2
    assert Episode.objects.count() == 2
    assert set(Episode.objects.values_list("notification_count", flat=True)) == {2}
