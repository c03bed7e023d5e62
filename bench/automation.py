"""Overhead of a guarded automation run (issue 16), in-process, eager, on PostgreSQL.

For RUNS episodes, time `services.run_trigger` (guardrails under row locks, run record, audit
events, rendering, signing, the request to a local receiver, the outcome) and, separately, the
bare `core.outbound.send` of the same signed request. The difference is what the guardrails,
the audit and the bookkeeping cost per run. Also prints the queries per guarded run.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_bench_automation \\
       .venv/bin/python bench/automation.py [--runs 200]
(the database is created if missing and migrated; its automation tables are emptied first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/steward_bench_automation")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ["STEWARD_AUTOMATION_ALLOWED_HOSTS"] = "127.0.0.1"
os.environ["STEWARD_OUTBOUND_ALLOW_NETWORKS"] = "127.0.0.1/32"
os.environ["STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR"] = "100000"
os.environ["STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM"] = "100000"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    _create_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from alerts.automation import services
    from alerts.automation.models import Action, ActionRun
    from alerts.models import AlertRule, Episode
    from core import outbound
    from fleet.models import Membership, Team
    from runbooks.models import Runbook
    from tests.support.webhook import webhook_server

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE automation_automationevent, automation_actionrun, automation_action"
        )
    from django.contrib.auth.models import User

    team, _ = Team.objects.get_or_create(slug="bench-automation", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(username="bench-automation")
    Membership.objects.get_or_create(team=team, user=user)
    runbook, _ = Runbook.objects.get_or_create(
        slug="bench-automation", defaults={"title": "Bench", "owner_team": team}
    )
    rule, _ = AlertRule.objects.get_or_create(
        alertname="BenchAutomation", defaults={"runbook": runbook, "owner_team": team}
    )
    Episode.objects.filter(rule=rule).delete()
    now = timezone.now()
    episodes = Episode.objects.bulk_create(
        Episode(
            rule=rule,
            fingerprint=f"bench{i:010d}",
            labels={"alertname": "BenchAutomation", "model": "fraud-scorer"},
            starts_at=now,
            source="prometheus",
        )
        for i in range(args.runs)
    )
    with webhook_server(range(28900, 28950)) as receiver:
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
        assert len(receiver.received) == 2 * args.runs

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    print(f"runs: {args.runs} on {connection.vendor}")  # noqa: T201
    for name, values in (("guarded run (trigger to outcome)", guarded), ("bare request", bare)):
        print(  # noqa: T201
            f"{name:34s} p50 {pct(values, 0.5):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms"
            f"  mean {statistics.mean(values) * 1000:6.2f} ms"
        )
    overhead = statistics.median(guarded) - statistics.median(bare)
    print(f"overhead per guarded run (median difference): {overhead * 1000:.2f} ms")  # noqa: T201
    print(f"queries per guarded run: median {statistics.median(queries):.0f}, max {max(queries)}")  # noqa: T201
    Action.objects.filter(pk=action.pk).update(disabled=True)


if __name__ == "__main__":
    main()
