"""backfill_alerts (Prometheus ALERTS → episodes, merged with webhook episodes) and the
reconciliation against Alertmanager's /api/v2/alerts, with the HTTP side faked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from alerts.integrations.alertmanager.backfill import alerts_backfill
from alerts.integrations.alertmanager.reconcile import episodes_reconcile
from alerts.integrations.alertmanager.tasks import reconcile_open_episodes
from alerts.models import AlertRule, Episode
from tests.alerts.integrations.conftest import capture
from tests.support.clock import NOW

# Deliveries are stamped with the clock and reconciliation compares it with the captures'
# 2026-11-25 alerts: pinned after them, whatever day the tests run.
pytestmark = pytest.mark.usefixtures("frozen_now")

Post = Callable[..., Any]
FRAUD = capture()[0]["alerts"][0]
T0 = datetime(2026, 11, 25, 22, 34, 23, 772000, tzinfo=UTC)


def _series(labels: dict[str, str], seconds: list[int]) -> dict[str, Any]:
    metric = {"__name__": "ALERTS", "alertstate": "firing", **labels}
    base = T0.timestamp()
    return {"metric": metric, "values": [[base + s, "1"] for s in seconds]}


def _backfill(result: list[dict[str, Any]], until_s: int = 120) -> Any:
    with mock.patch(
        "prometheus_api_client.PrometheusConnect.custom_query_range",
        return_value=result,
    ):
        return alerts_backfill(
            prometheus_url="http://prometheus.invalid",
            since=T0 - timedelta(minutes=5),
            until=T0 + timedelta(seconds=until_s),
            step=timedelta(seconds=1),
        )


def test_backfill_turns_contiguous_runs_into_episodes(db: None) -> None:
    # firing 0..6 s, then 17..26 s, then from 37 s until now (left to the webhook)
    seconds = list(range(1, 7)) + list(range(17, 27)) + list(range(37, 121))
    result = _backfill([_series(FRAUD["labels"], seconds)])
    assert (result.runs, result.inserted, result.still_firing) == (3, 2, 1)
    episodes = list(Episode.objects.order_by("starts_at"))
    assert [e.fingerprint for e in episodes] == [FRAUD["fingerprint"]] * 2
    assert episodes[0].starts_at == T0 + timedelta(seconds=1)
    assert episodes[0].ends_at == T0 + timedelta(seconds=7)
    assert episodes[0].labels == FRAUD["labels"]  # no alertstate, no __name__
    assert AlertRule.objects.get().catalogued is False
    # running it again changes nothing
    assert _backfill([_series(FRAUD["labels"], seconds)]).inserted == 0
    assert Episode.objects.count() == 2


def test_backfill_merges_with_webhook_episodes(post: Post) -> None:
    for delivery in capture()[:3]:  # fired at T0, resolved at T0+7s
        post("alertmanager", delivery)
    # Prometheus' samples start one step after the webhook's startsAt (quantised)
    result = _backfill([_series(FRAUD["labels"], list(range(1, 7)))])
    assert (result.inserted, result.matched) == (0, 1)
    assert Episode.objects.filter(fingerprint=FRAUD["fingerprint"]).count() == 1


def test_backfill_command_needs_a_prometheus_url(db: None, settings: Any) -> None:
    settings.PROMETHEUS_URL = ""
    with pytest.raises(CommandError, match="PROMETHEUS_URL"):
        call_command("backfill_alerts", "--since", "30d")
    with pytest.raises(CommandError, match="duration"):
        call_command("backfill_alerts", "--since", "a month", "--prometheus-url", "http://x")


def test_backfill_command_reports(db: None) -> None:
    out = StringIO()
    with mock.patch(
        "prometheus_api_client.PrometheusConnect.custom_query_range",
        return_value=[_series(FRAUD["labels"], [1, 2, 3])],
    ) as query:
        call_command(
            "backfill_alerts",
            "--since",
            "30d",
            "--prometheus-url",
            "http://prometheus.invalid",
            stdout=out,
        )
    # 30 days at 60 s is 43,200 steps: queried in windows of at most 10,000
    assert query.call_count == 5
    assert "episodes inserted" in out.getvalue()


def _am_alerts(fingerprints: list[str], starts: str = "2026-11-25T22:34:23.772Z") -> mock.Mock:
    response = mock.Mock()
    response.json.return_value = [{"fingerprint": fp, "startsAt": starts} for fp in fingerprints]
    response.raise_for_status.return_value = None
    return response


def test_reconcile_closes_open_episodes_alertmanager_no_longer_lists(post: Post) -> None:
    post("alertmanager", capture()[0])  # two open episodes
    later = NOW + timedelta(hours=1)
    still = capture()[0]["alerts"][1]["fingerprint"]
    with mock.patch(
        "alerts.integrations.alertmanager.reconcile.requests.get",
        return_value=_am_alerts([still]),
    ) as get:
        result = episodes_reconcile(alertmanager_url="http://am.invalid/", now=later)
    assert get.call_args.args[0] == "http://am.invalid/api/v2/alerts"
    assert (result.listed, result.closed) == (1, 1)
    assert Episode.objects.get(fingerprint=FRAUD["fingerprint"]).ends_at == later
    assert Episode.objects.get(fingerprint=still).is_firing


def test_reconcile_closes_an_episode_replaced_by_a_newer_firing(post: Post) -> None:
    post("alertmanager", capture()[0])
    later = NOW + timedelta(hours=1)
    fingerprints = [a["fingerprint"] for a in capture()[0]["alerts"]]
    with mock.patch(
        "alerts.integrations.alertmanager.reconcile.requests.get",
        return_value=_am_alerts(fingerprints, starts="2026-11-25T23:00:00Z"),
    ):
        assert episodes_reconcile(alertmanager_url="http://am.invalid", now=later).closed == 2


def test_reconcile_leaves_recently_notified_episodes(post: Post) -> None:
    post("alertmanager", capture()[0])
    with mock.patch(
        "alerts.integrations.alertmanager.reconcile.requests.get", return_value=_am_alerts([])
    ):
        assert episodes_reconcile(alertmanager_url="http://am.invalid").closed == 0


def test_reconcile_task_is_a_no_op_without_alertmanager_url(db: None, settings: Any) -> None:
    settings.ALERTMANAGER_URL = ""
    assert reconcile_open_episodes.delay().get() == 0
    assert reconcile_open_episodes.name == "alerts.alertmanager.reconcile"
