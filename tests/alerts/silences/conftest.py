from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from alerts.models import AlertRule
from fleet.models import Membership, Team
from tests.conftest import require_service
from tests.support.processes import AlertmanagerServer, free_port, free_ports


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerServer]:
    """A real Alertmanager 0.25, clustering off."""
    require_service(AlertmanagerServer.available(), "Debian's prometheus-alertmanager")
    server = AlertmanagerServer(free_port(), tmp_path / "am")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def am_pair(tmp_path: Path) -> Iterator[tuple[AlertmanagerServer, AlertmanagerServer]]:
    """Two Alertmanagers clustered by gossip, as an HA pair."""
    require_service(AlertmanagerServer.available(), "Debian's prometheus-alertmanager")
    ports = free_ports(4)
    first = AlertmanagerServer(ports[0], tmp_path / "a", cluster_port=ports[1])
    second = AlertmanagerServer(ports[2], tmp_path / "b", cluster_port=ports[3], peers=(ports[1],))
    first.start()
    try:
        second.start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


class Catalog:
    """Two teams and their rules, as the silences tests use them."""

    def __init__(self) -> None:
        self.fraud = Team.objects.create(slug="fraud-ml", name="Fraud ML")
        self.recsys = Team.objects.create(slug="recsys", name="Recsys")
        self.alice = User.objects.create_user("alice", email="alice@example.com")
        self.rob = User.objects.create_user("rob", email="rob@example.com")
        Membership.objects.create(team=self.fraud, user=self.alice)
        Membership.objects.create(team=self.recsys, user=self.rob)
        self.fraud_latency = AlertRule.objects.create(
            alertname="ModelLatencyHigh",
            matchers={"model": "fraud-scorer"},
            severity="page",
            owner_team=self.fraud,
        )
        self.recsys_latency = AlertRule.objects.create(
            alertname="ModelLatencyHigh",
            matchers={"model": "recommender-v7"},
            severity="page",
            owner_team=self.recsys,
        )
        self.recsys_drift = AlertRule.objects.create(
            alertname="FeatureDriftHigh",
            matchers={"model": "recommender-v7"},
            severity="ticket",
            owner_team=self.recsys,
        )


@pytest.fixture
def catalog(db: None) -> Catalog:
    return Catalog()


@pytest.fixture
def make_catalog(db: None) -> Callable[[], Catalog]:
    return Catalog
