"""Overhead of a guarded automation run (issue 16), in-process, eager, on PostgreSQL.

For RUNS episodes, time `services.run_trigger` (guardrails under row locks, run record, audit
events, rendering, signing, the request to a local receiver, the outcome) and, separately, the
bare `core.outbound.send` of the same signed request. The difference is what the guardrails,
the audit and the bookkeeping cost per run. Also prints the queries per guarded run.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_bench_automation \\
       .venv/bin/python bench/automation.py [--runs 200]
(the database is created if missing and migrated; its automation tables are emptied first).
`measure_overhead` is also run by bench/automation_latency.py after its latency figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# What the benchmarks of automation need in the environment of Steward's processes: the local
# receiver allowed, and budgets so high that no run is refused (bench/automation_latency.py).
AUTOMATION_ENV = {
    "STEWARD_AUTOMATION_ALLOWED_HOSTS": "127.0.0.1",
    "STEWARD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32",
    "STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR": "100000",
    "STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM": "100000",
}


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Overhead:
    vendor: str
    guarded: list[float]  # seconds per guarded run, trigger to outcome
    bare: list[float]  # seconds per bare signed request
    queries: list[int]  # per guarded run


def bench_catalog(slug: str, alertname: str) -> tuple[Any, Any, Any, Any]:
    """Empty the automation tables (the benchmark's own database), then a team with one member,
    its runbook and a rule of `alertname` without episodes: (team, user, runbook, rule)."""
    from django.contrib.auth.models import User
    from django.db import connection

    from alerts.models import AlertRule, Episode
    from fleet.models import Membership, Team
    from runbooks.models import Runbook

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE automation_automationevent, automation_actionrun, automation_action"
        )
    team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(username=slug)
    Membership.objects.get_or_create(team=team, user=user)
    runbook, _ = Runbook.objects.get_or_create(
        slug=slug, defaults={"title": "Bench", "owner_team": team}
    )
    rule, _ = AlertRule.objects.get_or_create(
        alertname=alertname, defaults={"runbook": runbook, "owner_team": team}
    )
    Episode.objects.filter(rule=rule).delete()
    return team, user, runbook, rule


def measure_overhead(runs: int) -> Overhead:
    """Time `runs` guarded runs (eager, in this process) and as many bare signed requests to a
    local receiver. Empties the automation tables of the (benchmark's own) database first.
    Needs Django set up with AUTOMATION_ENV and no broker (eager)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alerts.automation import services
    from alerts.automation.models import Action, ActionRun
    from alerts.models import Episode
    from core import outbound
    from tests.support.webhook import webhook_server

    team, user, runbook, rule = bench_catalog("bench-automation", "BenchAutomation")
    now = timezone.now()
    episodes = Episode.objects.bulk_create(
        Episode(
            rule=rule,
            fingerprint=f"bench{i:010d}",
            labels={"alertname": "BenchAutomation", "model": "fraud-scorer"},
            starts_at=now,
            source="prometheus",
        )
        for i in range(runs)
    )
    with webhook_server() as receiver:
        action = services.action_create(
            user=user,
            team_id=team.pk,
            runbook_id=runbook.pk,
            name="bench",
            url=f"{receiver.url}/shift",
            signing_key="bench-signing-key",
            body_template='{"model": {{ labels.model }}, "episode": {{ episode.id }}}',
            max_runs_per_hour=100000,
            max_concurrent=100000,
            cooldown_seconds=0,
        )
        services.action_promote(action=action, user=user)
        action.refresh_from_db()

        guarded: list[float] = []
        queries: list[int] = []
        for episode in episodes:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run = services.run_trigger(action=action, episode=episode, user=user)
                guarded.append(time.perf_counter() - started)
            queries.append(len(captured))
            if os.environ.get("BENCH_SHOW_QUERIES") and episode is episodes[-1]:
                for q in captured.captured_queries:
                    print(q["time"], q["sql"][:150])  # noqa: T201
            assert run.state == ActionRun.State.SUCCEEDED, run.outcome

        bare: list[float] = []
        for episode in episodes:
            prepared = services.request_build(action, episode, run_id=None, attempt=99)
            started = time.perf_counter()
            outbound.send(
                prepared.method, prepared.url, body=prepared.body, headers=prepared.headers
            )
            bare.append(time.perf_counter() - started)
        assert len(receiver.received) == 2 * runs
    Action.objects.filter(pk=action.pk).update(disabled=True)
    return Overhead(connection.vendor, guarded, bare, queries)


def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` (seconds) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def overhead_report(result: Overhead) -> None:
    print(f"runs: {len(result.guarded)} on {result.vendor}")  # noqa: T201
    for name, values in (
        ("guarded run (trigger to outcome)", result.guarded),
        ("bare request", result.bare),
    ):
        print(  # noqa: T201
            f"{name:34s} p50 {pct(values, 0.5):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms"
            f"  mean {statistics.mean(values) * 1000:6.2f} ms"
        )
    overhead = statistics.median(result.guarded) - statistics.median(result.bare)
    print(f"overhead per guarded run (median difference): {overhead * 1000:.2f} ms")  # noqa: T201
    queries = result.queries
    print(f"queries per guarded run: median {statistics.median(queries):.0f}, max {max(queries)}")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/steward_bench_automation"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ.update(AUTOMATION_ENV)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _create_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    overhead_report(measure_overhead(args.runs))


if __name__ == "__main__":
    main()
