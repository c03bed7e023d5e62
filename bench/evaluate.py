"""Benchmark: one week's full noise evaluation on PostgreSQL with 1M and then 3M episodes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_noise DEBUG=1 \\
        .venv/bin/python bench/evaluate.py [--rules 5000] [--episodes 1000000] [--grow-to 3000000]

It EMPTIES the alert tables of that database, generates a fleet of rules (heavy-tailed firing
rates, 20 teams in various timezones, a tenth unowned) and episodes spread over 8 weeks with
INSERT ... SELECT generate_series, then times `week_evaluate` for the last full week: every
statistic, flag and co-firing pair. Goal: < 5 s at 1M episodes, < 3.5x that at 3M.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from alerts.models import AlertRule, Evaluation, RuleFlag, RuleWeek  # noqa: E402
from alerts.noise.evaluation import week_evaluate  # noqa: E402
from core.weeks import current_week, week_bounds, week_shift, weeks_back  # noqa: E402
from fleet.models import Team  # noqa: E402

ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "America/New_York"]


def execute(sql: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def reset(rules: int) -> None:
    execute(
        "TRUNCATE alerts_engagement, alerts_feedback, alerts_episode, alerts_ruleflag, "
        "alerts_ruleweek, alerts_cofiring, alerts_evaluation, alerts_alertrule, fleet_team "
        "RESTART IDENTITY CASCADE"
    )
    teams = Team.objects.bulk_create(
        Team(slug=f"team-{i}", name=f"Team {i}", timezone=ZONES[i % len(ZONES)]) for i in range(20)
    )
    AlertRule.objects.bulk_create(
        (
            AlertRule(
                alertname=f"BenchAlert{i:05d}",
                severity="page" if i % 10 == 0 else "warning",
                owner_team=teams[i % 20] if i % 10 else None,
            )
            for i in range(rules)
        ),
        batch_size=1000,
    )


def add_episodes(count: int, rules: int, first_week: str, batch: int) -> None:
    """`count` episodes: rule ~ heavy-tailed (random()^2), start uniform over 8 weeks,
    duration 1 min + exponential (mean 10 min), 1% still open; 10% engaged."""
    start, _ = week_bounds(first_week)
    min_id = AlertRule.objects.order_by("id").values_list("id", flat=True).first()
    execute(
        """
INSERT INTO alerts_episode (rule_id, fingerprint, labels, annotations, starts_at, ends_at,
    source, generator_url, notification_count, created_at, updated_at)
SELECT r, 'b' || r || '-' || (g %% 4) || '-' || %s, '{}', '{}', s,
       CASE WHEN random() < 0.01 THEN NULL
            ELSE s + make_interval(secs => 60 + floor(-ln(1 - random()) * 600)) END,
       'prometheus', '', 1, s, s
FROM (
  SELECT g, %s + floor(%s * random() ^ 2)::int AS r,
         %s::timestamptz + make_interval(secs => random() * 8 * 7 * 86400) AS s
  FROM generate_series(1, %s) g
) x
ON CONFLICT DO NOTHING
""",
        [batch, min_id, rules, start, count],
    )
    user = User.objects.get_or_create(username="bench")[0]
    execute(
        """
INSERT INTO alerts_engagement (episode_id, user_id, kind, at)
SELECT id, %s, 'runbook_view', starts_at + interval '3 minutes'
FROM alerts_episode WHERE fingerprint LIKE %s AND random() < 0.1
""",
        [user.pk, f"%-{batch}"],
    )
    execute("VACUUM ANALYZE alerts_episode")
    execute("VACUUM ANALYZE alerts_engagement")


def time_week(week: str, runs: int = 3) -> float:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        week_evaluate(week=week)
        timings.append(time.perf_counter() - began)
    return min(timings)


def report(label: str, week: str, seconds: float) -> None:
    evaluation = Evaluation.objects.filter(week=week, status="done").order_by("-id").first()
    assert evaluation is not None
    episodes = RuleWeek.objects.filter(week=week).values_list("fires", flat=True)
    print(
        f"{label}: evaluated {week} in {seconds:.2f} s (best of 3) — "
        f"{sum(episodes):,} episodes started in the week, {evaluation.rules_evaluated:,} rules, "
        f"{RuleFlag.objects.filter(week=week).count():,} flags"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--grow-to", type=int, default=3_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL=postgres://…/steward_noise")
    call_command("migrate", verbosity=0)
    weeks = weeks_back(week_shift(current_week(), -1), 8)
    week = weeks[-1]
    began = time.perf_counter()
    reset(args.rules)
    add_episodes(args.episodes, args.rules, weeks[0], batch=1)
    print(
        f"generated {args.rules:,} rules and {args.episodes:,} episodes in "
        f"{time.perf_counter() - began:.0f} s"
    )
    first = time_week(week)
    report(f"{args.episodes:,} episodes", week, first)
    began = time.perf_counter()
    add_episodes(args.grow_to - args.episodes, args.rules, weeks[0], batch=2)
    print(f"grew to {args.grow_to:,} episodes in {time.perf_counter() - began:.0f} s")
    second = time_week(week)
    report(f"{args.grow_to:,} episodes", week, second)
    print(f"ratio {second / first:.2f}x for {args.grow_to / args.episodes:.1f}x the episodes")


if __name__ == "__main__":
    main()
