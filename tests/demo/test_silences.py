"""The demo's silence ledger: what a sync would have recorded, with its real flags."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from alerts.silences.models import Silence
from alerts.silences.policy import silence_flags

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


def test_the_demo_ledger_shows_each_kind_of_silence_once() -> None:
    call_command("seed_demo", "--now", NOW.isoformat(), stdout=StringIO())
    silences = list(Silence.objects.all())
    flags = silence_flags(silences, now=NOW)
    kinds = {s.comment: {f.kind for f in flags.get(s.pk, [])} for s in silences}
    assert kinds["CHG-2291: canary of v7.3 while the error budget recovers"] == set()
    assert "over_long" in kinds["Upstream card network flaky until their fix ships"]
    assert "orphaned" in kinds["Job retired in Q3"]
    assert "not_owner" in kinds["Load test on the ranker (INC-5120)"]
    assert {s.comment for s in silences if s.ends_at <= NOW} == {"Cluster resize"}

    out = StringIO()
    call_command("seed_demo", "--now", NOW.isoformat(), stdout=out)
    assert Silence.objects.count() == len(silences)

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    page = client.get("/silences/").content.decode()
    assert "Active (4)" in page and "Expired (1)" in page
    assert "Load test on the ranker (INC-5120)" in page
