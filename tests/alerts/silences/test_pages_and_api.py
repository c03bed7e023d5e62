"""/silences/ pages, the blocks on rule, on-call and review pages, and the read-only API,
on a ledger recorded from listings (no Alertmanager needed: `silences_record`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.models import Episode
from alerts.silences.client import SilenceData, SilenceListing
from alerts.silences.matchers import Matcher, rule_matchers
from alerts.silences.models import Silence, SilenceEvent, TeamSilenceEnforcement
from alerts.silences.services import silences_record
from core.choices import Source
from tests.alerts.silences.conftest import Catalog
from tests.support.clock import LAST_WEEK, NOW

pytestmark = pytest.mark.django_db


def _data(
    silence_id: str,
    matchers: list[Matcher],
    *,
    hours: float = 72,
    by: str = "alice",
    comment: str = "INC-9: scorer migration",
    state: str = "active",
    start: datetime = NOW - timedelta(hours=1),
) -> SilenceData:
    return SilenceData(
        id=silence_id,
        matchers=tuple(matchers),
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        created_by=by,
        comment=comment,
        state=state,
    )


@pytest.fixture
def ledger(catalog: Catalog, frozen_now: datetime) -> dict[str, Silence]:
    listing = SilenceListing(
        silences=[
            _data("s-fraud", rule_matchers(catalog.fraud_latency)),
            _data("s-drift", rule_matchers(catalog.recsys_drift), by="mallory", comment=""),
            _data(
                "s-broad",
                [Matcher("model", "fraud-scorer|recommender-v7", is_regex=True)],
                hours=24,
            ),
            _data(
                "s-pending",
                rule_matchers(catalog.recsys_latency),
                by="rob",
                state="pending",
                start=NOW + timedelta(hours=2),
            ),
            _data(
                "s-old",
                rule_matchers(catalog.fraud_latency),
                state="expired",
                start=NOW - timedelta(days=3),
                hours=2,
            ),
        ],
        reached=["http://am"],
    )
    Episode.objects.create(
        rule=catalog.fraud_latency,
        fingerprint="a" * 16,
        labels={"alertname": "ModelLatencyHigh", "model": "fraud-scorer"},
        starts_at=NOW - timedelta(minutes=30),
        source=Source.PROMETHEUS,
    )
    Episode.objects.create(
        rule=catalog.fraud_latency,
        fingerprint="b" * 16,
        labels={"alertname": "ModelLatencyHigh", "model": "fraud-scorer"},
        starts_at=NOW - timedelta(days=5),
        ends_at=NOW - timedelta(days=5) + timedelta(minutes=10),
        source=Source.PROMETHEUS,
    )
    silences_record(listing, now=NOW)
    return {s.alertmanager_id: s for s in Silence.objects.all()}


@pytest.fixture
def alice_client(catalog: Catalog) -> Client:
    client = Client()
    client.force_login(catalog.alice)
    return client


def test_pages_need_a_login(ledger: dict[str, Silence]) -> None:
    response = Client().get("/silences/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_tabs_filters_and_flags(ledger: dict[str, Silence], alice_client: Client) -> None:
    page = alice_client.get("/silences/").content.decode()
    assert "Active (3)" in page and "Pending (1)" in page and "Expired (1)" in page
    assert 'href="/silences/"' in page  # the nav link
    for silence_id in ("s-fraud", "s-drift", "s-broad"):
        assert f"/silences/{ledger[silence_id].pk}/" in page
    assert f"/silences/{ledger['s-pending'].pk}/" not in page
    assert "No reason" in page and "Broad" in page and "Creator outside the team" in page

    by_team = alice_client.get("/silences/?team=recsys").content.decode()
    assert f"/silences/{ledger['s-fraud'].pk}/" not in by_team
    assert f"/silences/{ledger['s-drift'].pk}/" in by_team
    by_flag = alice_client.get("/silences/?flag=no_reason").content.decode()
    assert f'/silences/{ledger["s-drift"].pk}/"' in by_flag
    assert f'/silences/{ledger["s-broad"].pk}/"' not in by_flag
    by_creator = alice_client.get("/silences/?creator=mall").content.decode()
    assert f'/silences/{ledger["s-drift"].pk}/"' in by_creator
    assert f'/silences/{ledger["s-fraud"].pk}/"' not in by_creator
    pending = alice_client.get("/silences/?tab=pending").content.decode()
    assert f'/silences/{ledger["s-pending"].pk}/"' in pending
    expired = alice_client.get("/silences/?tab=expired").content.decode()
    assert f'/silences/{ledger["s-old"].pk}/"' in expired


def test_list_costs_a_bounded_number_of_queries(
    ledger: dict[str, Silence], alice_client: Client, catalog: Catalog
) -> None:
    alice_client.get("/silences/")
    with CaptureQueriesContext(connection) as few:
        alice_client.get("/silences/")
    listing = SilenceListing(
        silences=[
            _data(f"more-{i}", [*rule_matchers(catalog.fraud_latency), Matcher("i", str(i))])
            for i in range(30)
        ],
        reached=["http://am"],
    )
    silences_record(listing, now=NOW)
    with CaptureQueriesContext(connection) as many:
        alice_client.get("/silences/")
    assert len(many) == len(few)


def test_detail_shows_coverage_held_back_alerts_history_and_flags(
    ledger: dict[str, Silence], alice_client: Client, catalog: Catalog
) -> None:
    page = alice_client.get(f"/silences/{ledger['s-fraud'].pk}/").content.decode()
    assert f"/alerts/{catalog.fraud_latency.pk}/" in page
    assert "All its alerts" in page
    # The episode firing during the silence was held back; the one from 5 days ago was not.
    assert 'Alerts it held back <span class="muted">(1)</span>' in page
    assert "First seen" in page
    drift = alice_client.get(f"/silences/{ledger['s-drift'].pk}/").content.decode()
    assert "No reason" in drift and "What to do:" in drift
    assert "mallory" in drift
    assert alice_client.get("/silences/999999/").status_code == 404


def test_rule_and_oncall_pages_say_silenced_until_by_because(
    ledger: dict[str, Silence], alice_client: Client, catalog: Catalog
) -> None:
    page = alice_client.get(f"/alerts/{catalog.fraud_latency.pk}/").content.decode()
    fraud = ledger["s-fraud"]
    assert "silenced</span>" in page
    assert f"until <strong>{fraud.ends_at:%Y-%m-%d %H:%M} UTC</strong>" in page
    assert "by <strong>alice</strong>" in page and "“INC-9: scorer migration”" in page
    assert "held back 1 alert" in page
    oncall = alice_client.get("/runbooks/for/ModelLatencyHigh/?model=fraud-scorer").content.decode()
    assert "by <strong>alice</strong>" in oncall
    assert f"/silences/{fraud.pk}/" in oncall
    # Another model's on-call page: the fraud silence does not hold its alerts back.
    other = alice_client.get(
        "/runbooks/for/ModelLatencyHigh/?model=recommender-v7"
    ).content.decode()
    assert f"/silences/{fraud.pk}/" not in other
    # A rule nobody silences shows nothing.
    ledger["s-fraud"].delete()
    ledger["s-broad"].delete()
    quiet = alice_client.get(f"/alerts/{catalog.fraud_latency.pk}/").content.decode()
    assert "Silenced</h2>" not in quiet


def test_review_page_has_the_silence_digest(
    ledger: dict[str, Silence], alice_client: Client
) -> None:
    page = alice_client.get(f"/review/{LAST_WEEK}/?team=fraud-ml").content.decode()
    assert 'id="silences-h"' in page
    # The broad silence ends within 48 h (24 h long, started an hour ago).
    assert "Ending soon" in page
    assert f"/silences/{ledger['s-broad'].pk}/" in page
    all_teams = alice_client.get(f"/review/{LAST_WEEK}/").content.decode()
    assert f"/silences/{ledger['s-drift'].pk}/" in all_teams  # no reason, outside the team


def test_sync_button_is_for_staff(
    ledger: dict[str, Silence], alice_client: Client, settings: object
) -> None:
    assert alice_client.post("/silences/sync/").status_code == 403
    staff = User.objects.create_user("boss", is_staff=True)
    client = Client()
    client.force_login(staff)
    settings.ALERTMANAGER_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    response = client.post("/silences/sync/", follow=True)
    assert "Alertmanager did not answer; nothing changed." in response.content.decode()
    assert client.get("/silences/sync/").status_code == 405


def test_team_enforcement_is_set_by_its_members(
    ledger: dict[str, Silence], alice_client: Client, catalog: Catalog
) -> None:
    assert (
        alice_client.post("/silences/teams/recsys/enforcement/", {"mode": "enforce"}).status_code
        == 403
    )
    response = alice_client.post("/silences/teams/fraud-ml/enforcement/", {"mode": "dry_run"})
    assert response.status_code == 302
    assert TeamSilenceEnforcement.objects.get(team=catalog.fraud).mode == "dry_run"
    page = alice_client.get("/silences/?team=fraud-ml").content.decode()
    assert "Dry run (list only)</strong>" in page
    bad = alice_client.post("/silences/teams/fraud-ml/enforcement/", {"mode": "x"}, follow=True)
    assert "Pick off, dry run or enforce." in bad.content.decode()


def test_api_lists_and_details_read_only(
    ledger: dict[str, Silence], alice_client: Client, catalog: Catalog
) -> None:
    assert Client().get("/api/v1/silences/").status_code in (401, 403)
    body = alice_client.get("/api/v1/silences/").json()
    assert body["count"] == 5
    recsys = alice_client.get("/api/v1/silences/?team=recsys").json()
    assert sorted(item["alertmanager_id"] for item in recsys["results"]) == [
        "s-broad",
        "s-drift",
        "s-pending",
    ]
    live = alice_client.get("/api/v1/silences/?live=true&creator=mallory").json()
    (drift,) = live["results"]
    assert drift["teams"] == ["recsys"]
    assert drift["rules"] == [
        {
            "rule": catalog.recsys_drift.pk,
            "alertname": "FeatureDriftHigh",
            "matchers": {"model": "recommender-v7"},
            "kind": "full",
        }
    ]
    assert {flag["kind"] for flag in drift["flags"]} == {"no_reason", "not_owner"}
    assert all(flag["url"] == f"/silences/{drift['id']}/" for flag in drift["flags"])
    detail = alice_client.get(f"/api/v1/silences/{drift['id']}/").json()
    assert [event["kind"] for event in detail["events"]] == ["seen"]
    assert detail["matchers_text"] == '{alertname="FeatureDriftHigh", model="recommender-v7"}'
    assert (
        alice_client.post("/api/v1/silences/", {}, content_type="application/json").status_code
        == 405
    )
    schema = alice_client.get("/api/schema/?format=json").json()
    assert "/api/v1/silences/" in schema["paths"] and "/api/v1/silences/{id}/" in schema["paths"]


def test_events_are_append_only(ledger: dict[str, Silence]) -> None:
    event = SilenceEvent.objects.first()
    assert event is not None
    with pytest.raises(ValueError, match="append-only"):
        event.save()
