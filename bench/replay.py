"""Benchmark: suggestions for every flagged rule, 4 weeks of history, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_h3 DEBUG=1 \\
        .venv/bin/python bench/replay.py [--rules 5000] [--episodes 1000000]

It EMPTIES the alert tables of that database, generates a fleet of rules (heavy-tailed firing
rates, 20 teams in various timezones, a tenth paging, various `for`) and episodes spread over
the last 4 weeks with INSERT ... SELECT generate_series (10% engaged, 2% called actionable),
every 8th rule's short episodes left without engagement (so some rules have a suggestion),
runs the noise evaluation of the last full week to raise the real flags, then times what the
review page does for all of them at once (`suggestions_for_rules`): one query for the flagged
rules' episodes (one row of binary arrays) and the search over the (`for`, `keep_firing_for`)
grid on NumPy arrays (alerts/replay/engine.py `suggest_many`). Goal: < 2 s.

Each run prints the total, the query and the search separately, rules per second and the
machine's load average (/proc/loadavg: the figure depends on what else runs). `--check`
also runs the per-rule Python search (`suggestions_for_rules_reference`, ~30 s for the fleet)
and fails unless both find the same suggestions.

Measured (2026-12-05 13:01-13:04 UTC, 2 cores, nothing else running, load average 0.3-1.0):
one team (244 rules, 50,352 episodes, 35 suggestions) 0.17-0.25 s warm; the fleet (4,887
flagged rules, 984,569 episodes, 183 suggestions) 1.42-1.74 s warm = query 0.45-0.54 s + search
0.99-1.27 s, 1.98-2.14 s on a process's first run (was 30 s; reference search 24.0-24.9 s,
identical suggestions). Runs earlier the same morning: see README "Replay".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts.models import AlertRule, Flag  # noqa: E402
from alerts.noise.evaluation import week_evaluate  # noqa: E402
from alerts.replay.engine import suggest_many  # noqa: E402
from alerts.replay.routing import configured_routes  # noqa: E402
from alerts.replay.selectors import (  # noqa: E402
    episode_arrays,
    replay_settings,
    replay_window,
    rule_info,
    suggestions_for_rules,
    suggestions_for_rules_reference,
)
from core.weeks import last_complete_week  # noqa: E402
from fleet.models import Team  # noqa: E402

ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "America/New_York"]
TUNABLE = [Flag.NOISY, Flag.FLAPPING, Flag.TRANSIENT]


def execute(sql: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])  # type: ignore[arg-type]


def reset(rules: int) -> None:
    execute(
        "TRUNCATE alerts_engagement, alerts_feedback, alerts_episode, alerts_ruleflag, "
        "alerts_ruleweek, alerts_cofiring, alerts_evaluation, alerts_decision, alerts_review, "
        "alerts_alertrule, fleet_team RESTART IDENTITY CASCADE"
    )
    teams = Team.objects.bulk_create(
        Team(slug=f"team-{i}", name=f"Team {i}", timezone=ZONES[i % len(ZONES)]) for i in range(20)
    )
    fors = [None, 60, 120, 300]
    AlertRule.objects.bulk_create(
        (
            AlertRule(
                alertname=f"BenchAlert{i:05d}",
                severity="page" if i % 10 == 0 else "warning",
                owner_team=teams[i % 20] if i % 10 else None,
                for_duration=None if fors[i % 4] is None else timedelta(seconds=fors[i % 4] or 0),
            )
            for i in range(rules)
        ),
        batch_size=1000,
    )


def add_episodes(count: int, rules: int, now: object) -> None:
    """`count` episodes: rule ~ heavy-tailed (random()^2), start uniform over 4 weeks on the
    minute, duration 1 min + exponential (mean 10 min), 1% still open."""
    min_id = AlertRule.objects.order_by("id").values_list("id", flat=True).first()
    execute(
        """
INSERT INTO alerts_episode (rule_id, fingerprint, labels, annotations, starts_at, ends_at,
    source, generator_url, notification_count, created_at, updated_at)
SELECT r, 'b' || r || '-' || (g %% 4), '{}', '{}', s,
       CASE WHEN random() < 0.01 THEN NULL
            ELSE s + make_interval(mins => 1 + floor(-ln(1 - random()) * 10)::int) END,
       'prometheus', '', 1, s, s
FROM (
  SELECT g, %s + floor(%s * random() ^ 2)::int AS r,
         date_trunc('minute', %s::timestamptz - make_interval(secs => random() * 28 * 86400)) AS s
  FROM generate_series(1, %s) g
) x
ON CONFLICT DO NOTHING
""",
        [min_id, rules, now, count],
    )
    user = User.objects.get_or_create(username="bench")[0]
    execute(
        """
INSERT INTO alerts_engagement (episode_id, user_id, kind, at)
SELECT id, %s, 'runbook_view', starts_at + interval '3 minutes'
FROM alerts_episode WHERE random() < 0.1
""",
        [user.pk],
    )
    execute(
        """
INSERT INTO alerts_feedback (episode_id, user_id, actionable, note, created_at, updated_at)
SELECT id, %s, true, '', starts_at, starts_at FROM alerts_episode WHERE random() < 0.02
ON CONFLICT DO NOTHING
""",
        [user.pk],
    )
    # Every 8th rule's responders only act on what lasts: nobody engaged with or called
    # actionable its episodes under 15 minutes, so a longer `for` can remove its blips without
    # regret (the rules the search finds suggestions for).
    for table in ("alerts_engagement", "alerts_feedback"):
        execute(
            f"DELETE FROM {table} t USING alerts_episode e "  # noqa: S608 - the names above
            "WHERE t.episode_id = e.id AND (e.rule_id - %s) %% 8 = 3 "
            "AND e.ends_at - e.starts_at < interval '15 minutes'",
            [min_id],
        )
    for table in ("alerts_episode", "alerts_engagement", "alerts_feedback"):
        execute(f"VACUUM ANALYZE {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the data of the last run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--team-only", action="store_true", help="skip the fleet-wide figure")
    parser.add_argument(
        "--check", action="store_true", help="compare with the per-rule reference search"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL=postgres://…/steward_h3")
    call_command("migrate", verbosity=0)
    now = timezone.now().replace(second=0, microsecond=0)
    week = last_complete_week(now)
    if not args.keep:
        began = time.perf_counter()
        reset(args.rules)
        add_episodes(args.episodes, args.rules, now)
        week_evaluate(week=week)
        print(
            f"generated {args.rules:,} rules and {args.episodes:,} episodes and evaluated "
            f"{week} in {time.perf_counter() - began:.0f} s"
        )
    flagged = list(
        AlertRule.objects.filter(flags__week=week, flags__flag__in=TUNABLE)
        .distinct()
        .select_related("owner_team")
    )
    # A team that has rules with suggestions (the 8th rules of the fleet: see add_episodes).
    team = next(r.owner_team for r in flagged if r.owner_team and int(r.alertname[-5:]) % 8 == 3)
    for label, rules in (
        (f"team {team.slug if team else '-'}", [r for r in flagged if r.owner_team == team]),
        ("every team", flagged),
    )[: 1 if args.team_only else 2]:
        timed(label, rules, now, runs=args.runs, check=args.check)


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def timed(label: str, rules: list[AlertRule], now: datetime, *, runs: int, check: bool) -> None:
    start, end = replay_window(now)
    for run in range(1, runs + 1):
        before = load()
        began = time.perf_counter()
        routes = configured_routes()
        infos = [rule_info(rule, routes) for rule in rules]
        episodes = episode_arrays(infos, start=start, end=end)
        queried = time.perf_counter()
        found = suggest_many(infos, episodes, settings=replay_settings(), until=end)
        done = time.perf_counter()
        total = done - began
        print(
            f"{label} run {run}: {len(rules):,} flagged rules, {len(episodes.id):,} episodes in "
            f"4 weeks, {len(found):,} suggestions: total {total:.2f} s = query "
            f"{queried - began:.2f} s + search {done - queried:.2f} s; "
            f"{len(rules) / total:,.0f} rules/s; "
            f"load {before} -> {load()}"
        )
    # The entry point the review page calls gives the same (it is the two steps above).
    assert suggestions_for_rules(rules, now=now).keys() == found.keys()
    if check:
        began = time.perf_counter()
        reference = suggestions_for_rules_reference(rules, now=now)
        print(
            f"{label}: reference per-rule search {time.perf_counter() - began:.1f} s, "
            f"{len(reference):,} suggestions, identical: {reference == found}"
        )
        if reference != found:
            sys.exit("The array search and the reference search disagree.")


if __name__ == "__main__":
    main()
