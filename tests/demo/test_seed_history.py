"""The whole demo seed at awkward moments: one transaction, idempotent, every page has data."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.models import (
    AlertRule,
    Decision,
    Engagement,
    Episode,
    Feedback,
    RuleFileText,
    RuleFlag,
    RuleWeek,
)
from alerts.review.effect import decision_effects
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO, ScorecardSnapshot
from fleet_coverage.scorecards.selectors import score_trend, systems_in_scope
from fleet_coverage.slo.rules import rule_file_yaml
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db(transaction=False)

SEEDED: tuple[type[Model], ...] = (
    Team,
    AISystem,
    AlertRule,
    Runbook,
    SLO,
    ScorecardSnapshot,
    Episode,
    Engagement,
    Feedback,
    Decision,
    RuleWeek,
    RuleFlag,
    RuleFileText,
)
_VOLATILE = {"id", "episode_id", "created_at", "updated_at"}


def _seed(now: datetime | None = None) -> str:
    out = StringIO()
    args = ["--now", now.isoformat()] if now else []
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every seeded table's rows without the ids and clocks a rewrite changes."""
    state = {}
    for model in SEEDED:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in _VOLATILE]
        rows = model._default_manager.values_list(*fields)
        state[model._meta.label] = sorted(map(repr, rows))
    return state


def _assert_history_sound(now: datetime) -> None:
    series: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for episode in Episode.objects.select_related("rule"):
        assert episode.fingerprint == fingerprint(episode.labels)
        assert episode.labels["alertname"] == episode.rule.alertname
        assert episode.labels.get("pod") or episode.labels.get("instance")
        assert "demo" not in episode.labels
        if episode.rule.system_id:
            assert episode.system_id == episode.rule.system_id
        series[episode.fingerprint].append((episode.starts_at, episode.ends_at))
    for intervals in series.values():
        intervals.sort(key=lambda i: i[0])
        for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert end is not None and end < start
    firing = Episode.objects.filter(ends_at=None, starts_at__gt=now - timedelta(hours=4))
    assert firing.filter(rule__severity="critical", rule__runbook__isnull=False).exists()
    assert firing.filter(rule__owner_team__isnull=False).count() >= 3
    fired = AlertRule.objects.filter(episodes__isnull=False).distinct()
    assert fired.exists() and not fired.filter(last_fired_at=None).exists()


AWKWARD = [
    datetime(2026, 3, 8, 10, 30, tzinfo=UTC),  # US DST starts
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # EU DST starts
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # EU DST ends
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),  # year end
    datetime(2026, 11, 30, 0, 0, tzinfo=UTC),  # Monday 00:00
    datetime(2026, 11, 29, 23, 59, tzinfo=UTC),  # Sunday 23:59
]


@pytest.mark.parametrize("now", AWKWARD, ids=[n.isoformat() for n in AWKWARD])
def test_seed_at_awkward_moments_is_sound_and_idempotent(now: datetime) -> None:
    _seed(now)
    _assert_history_sound(now)
    first = _snapshot()
    output = _seed(now)
    assert "Created: nothing" in output
    assert _snapshot() == first


def test_a_failing_seed_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("snapshot store down")

    monkeypatch.setattr("demo.seed.demo_scorecard_history", broken)
    with pytest.raises(RuntimeError):
        _seed(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))
    assert {label: rows for label, rows in _snapshot().items() if rows} == {}
    monkeypatch.undo()
    _seed(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))  # and the next run works
    assert Episode.objects.exists()


def test_now_must_be_a_datetime() -> None:
    with pytest.raises(CommandError, match="ISO datetime"):
        _seed_raw("next tuesday")


def _seed_raw(value: str) -> None:
    call_command("seed_demo", "--now", value, stdout=StringIO())


def test_the_seed_fills_slos_scorecard_trend_and_review_effects() -> None:
    now = timezone.now()  # the pages below read the real clock
    _seed(now)
    assert SLO.objects.count() >= 5
    critical = AISystem.objects.filter(tier=AISystem.Tier.CRITICAL)
    assert not critical.exclude(slos__isnull=False).exists()
    team = Team.objects.get(slug="fraud-ml")
    assert "BudgetBurnFast" in rule_file_yaml(list(SLO.objects.filter(owner_team=team)))
    trend = score_trend(systems_in_scope(), now=now)
    assert len(trend) == 12 and len({value for _, value in trend}) > 3
    assert trend[0][1] < trend[-1][1]  # the fleet got better
    effects, _ = decision_effects(now=now)
    tuned = next(e for e in effects if e.decision.kind == Decision.Kind.TUNE)
    assert tuned.weeks >= 2 and tuned.before > 2 * tuned.after


def test_pages_show_the_demo(client: Client) -> None:
    now = timezone.now()
    _seed(now)
    assert client.login(username="admin", password="steward-demo")
    system = AISystem.objects.get(slug="fraud-scorer")
    firing = (
        Episode.objects.filter(ends_at=None, rule__severity="critical", rule__runbook__isnull=False)
        .select_related("rule")
        .first()
    )
    assert firing is not None
    labels = {k: v for k, v in firing.labels.items() if k != "alertname"}
    on_call = f"/runbooks/for/{firing.rule.alertname}/?{urlencode(labels)}"
    pages = {
        "/": "Fraud scorer",
        "/alerts/": f"({AlertRule.objects.count()})",
        f"/fleet/{system.slug}/": system.name,
        "/review/effect/": Decision.Kind.TUNE.label,
        "/scorecards/": "Fraud scorer",
        on_call: firing.rule.runbook.title if firing.rule.runbook else "",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    assert "Nothing is firing now" not in client.get(on_call).content.decode()
