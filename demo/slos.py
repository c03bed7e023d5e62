"""The demo's SLOs (one or two per critical system) and its 12 weeks of scorecard history.

SLOs are written through `slo_save`, so their burn-rate alerts enter the catalog as they would
for a user; snapshots through `scorecard_snapshots_store`, the same upsert the weekly task uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core.choices import Layer
from core.weeks import week_of, week_shift
from fleet.models import AISystem
from fleet_coverage.models import SLO
from fleet_coverage.scorecards.selectors import (
    TREND_WEEKS,
    WEIGHTS,
    scorecards_for,
    systems_in_scope,
)
from fleet_coverage.scorecards.services import SnapshotRow, scorecard_snapshots_store
from fleet_coverage.slo.services import slo_save

SEED = 20261204


@dataclass(frozen=True)
class DemoSLO:
    slug: str
    name: str
    objective: str
    good: str
    total: str
    layer: str = Layer.INFRA
    weeks_ago: int = 6  # when the team adopted it: older snapshots lack its points


def _availability(slug: str, weeks_ago: int) -> DemoSLO:
    return DemoSLO(
        slug="availability",
        name="Requests served without error",
        objective="99.5",
        good=f'sum(rate(http_requests_total{{service="{slug}",code!~"5.."}}[$window]))',
        total=f'sum(rate(http_requests_total{{service="{slug}"}}[$window]))',
        weeks_ago=weeks_ago,
    )


def _latency(slug: str, seconds: str) -> DemoSLO:
    return DemoSLO(
        slug="latency",
        name=f"Predictions answered within {seconds}s",
        objective="99",
        good=(
            "sum(rate(http_request_duration_seconds_bucket"
            f'{{service="{slug}",handler="/predict",le="{seconds}"}}[$window]))'
        ),
        total=(
            "sum(rate(http_request_duration_seconds_count"
            f'{{service="{slug}",handler="/predict"}}[$window]))'
        ),
        layer=Layer.ML,
        weeks_ago=3,
    )


def _freshness(slug: str) -> DemoSLO:
    return DemoSLO(
        slug="freshness",
        name="Runs finished on time",
        objective="99",
        good=f'sum(increase(pipeline_runs_total{{pipeline="{slug}",on_time="true"}}[$window]))',
        total=f'sum(increase(pipeline_runs_total{{pipeline="{slug}"}}[$window]))',
        layer=Layer.ML,
        weeks_ago=8,
    )


def demo_slo_specs(system: AISystem) -> list[DemoSLO]:
    """The SLOs a critical system of this kind would have; none for other tiers."""
    if system.tier != AISystem.Tier.CRITICAL:
        return []
    if system.kind == AISystem.Kind.PIPELINE:
        return [_freshness(system.slug)]
    specs = [_availability(system.slug, weeks_ago=9 if system.kind == "model" else 5)]
    if system.kind == AISystem.Kind.MODEL:
        specs.append(_latency(system.slug, "0.25"))
    return specs


def demo_slos_seed() -> int:
    """Create the missing demo SLOs of the critical systems; returns how many were created."""
    created = 0
    existing = set(SLO.objects.values_list("system_id", "slug"))
    for system in AISystem.objects.filter(tier=AISystem.Tier.CRITICAL).order_by("slug"):
        for spec in demo_slo_specs(system):
            if (system.pk, spec.slug) in existing:
                continue
            slo_save(
                slo=SLO(system=system),
                name=spec.name,
                slug=spec.slug,
                description="Demo SLO",
                good_query=spec.good,
                total_query=spec.total,
                objective=Decimal(spec.objective),
                layer=spec.layer,
            )
            created += 1
    return created


def _adopted(system: AISystem) -> int:
    """Weeks ago the system got its first SLO (0: never)."""
    return max((spec.weeks_ago for spec in demo_slo_specs(system)), default=0)


def demo_scorecard_history(*, now: datetime) -> int:
    """Twelve weekly snapshots per system, ending with this week's real score.

    Older weeks replay how the demo fleet got here: before a system adopted its SLO its score
    lacks the SLO points, and runbook and ownership work added a few points most weeks
    (seeded, so the same `now` gives the same history).
    """
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    week = week_of(now)
    cards = scorecards_for(systems_in_scope(), now=now)
    rows: dict[int, list[SnapshotRow]] = {back: [] for back in range(TREND_WEEKS)}
    for card in sorted(cards, key=lambda c: c.system.slug):
        adopted = _adopted(card.system)
        score = card.score
        for back in range(TREND_WEEKS):
            missing = list(card.missing_codes)
            past = score
            if adopted and back >= adopted:
                past -= WEIGHTS["slo"]
                missing.append("slo")
            rows[back].append(SnapshotRow(card.system, max(past, 0), missing))
            # Going back a week undoes some of that week's fixes (0-3 points).
            score -= rng.randint(0, 3)
    return sum(
        scorecard_snapshots_store(
            week=week_shift(week, -back), rows=week_rows, taken_at=now - timedelta(weeks=back)
        )
        for back, week_rows in rows.items()
    )
