"""Benchmark: the silence ledger's sync from a real Alertmanager holding 5,000 silences.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_h1_bench DEBUG=1 \\
        .venv/bin/python bench/silences_sync.py [--silences 5000] [--rules 2000] [--port 21900]

It EMPTIES the silence and alert-rule tables of that database, seeds a catalog (rules over 50
teams, a third with a `model` matcher), starts Debian's Alertmanager 0.25 on 127.0.0.1:PORT
(clustering off, throwaway storage) and creates the silences through its API: most select one
rule (`alertname` + matcher, as a mute decision does), a tenth a regex over several models, a
tenth add an `instance` matcher (partial coverage), a few match nothing catalogued. Then it
times `silences_sync`: the first sync (every silence new: ledger rows, SEEN events, coverage,
team links), a sync with nothing changed (the every-minute steady state), and one after a
tenth of the silences were expired. Silences synced per second = listed / seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts.models import AlertRule  # noqa: E402
from alerts.silences.client import format_time  # noqa: E402
from alerts.silences.matchers import Matcher, matchers_to_api, rule_matchers  # noqa: E402
from alerts.silences.models import Silence, SilenceCoverage, SilenceEvent  # noqa: E402
from alerts.silences.services import silences_sync  # noqa: E402
from fleet.models import Team  # noqa: E402
from tests.support.processes import AlertmanagerServer  # noqa: E402


def reset(rules: int) -> list[AlertRule]:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE silences_silenceevent, silences_silencecoverage, silences_silence_teams, "
            "silences_silence, alerts_episode, alerts_alertrule, fleet_team "
            "RESTART IDENTITY CASCADE"
        )
    teams = Team.objects.bulk_create(Team(slug=f"team-{i}", name=f"Team {i}") for i in range(50))
    return AlertRule.objects.bulk_create(
        AlertRule(
            alertname=f"BenchAlert{i // 3:05d}",
            matchers={"model": f"model-{i % 3}"} if i % 3 else {},
            matchers_key=f"model=model-{i % 3}" if i % 3 else "",
            severity="page" if i % 10 == 0 else "ticket",
            owner_team=teams[i % 50],
        )
        for i in range(rules)
    )


def silence_bodies(rules: list[AlertRule], count: int) -> list[dict[str, object]]:
    now = timezone.now()
    bodies = []
    for i in range(count):
        rule = rules[i % len(rules)]
        matchers = rule_matchers(rule)
        if i % 10 == 1:
            matchers = [
                Matcher("alertname", rule.alertname),
                Matcher("model", "model-1|model-2", is_regex=True),
            ]
        elif i % 10 == 2:
            matchers = [*matchers, Matcher("instance", f"host-{i}")]
        elif i % 100 == 3:
            matchers = [Matcher("job", f"nothing-{i}")]
        else:
            # Distinct silences: one instance each, so Alertmanager keeps them all apart.
            matchers = [*matchers, Matcher("silence", str(i))]
        bodies.append(
            {
                "matchers": matchers_to_api(matchers),
                "startsAt": format_time(now),
                "endsAt": format_time(now + timedelta(hours=1 + i % 200)),
                "createdBy": f"user-{i % 40}",
                "comment": f"bench silence {i}",
            }
        )
    return bodies


def timed(label: str, url: str, listed_hint: int) -> float:
    began = time.perf_counter()
    result = silences_sync(urls=url)
    seconds = time.perf_counter() - began
    print(
        f"{label}: {result.listed:,} silences in {seconds:.2f} s = "
        f"{result.listed / seconds:,.0f} silences/s ({result.summary()})"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--silences", type=int, default=5000)
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--port", type=int, default=21900)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    rules = reset(args.rules)
    with tempfile.TemporaryDirectory() as workdir:
        server = AlertmanagerServer(args.port, Path(workdir))
        server.start()
        try:
            session = requests.Session()
            bodies = silence_bodies(rules, args.silences)
            began = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                ids = list(
                    pool.map(
                        lambda body: session.post(
                            f"{server.url}/api/v2/silences", json=body, timeout=10
                        ).json()["silenceID"],
                        bodies,
                    )
                )
            print(
                f"created {len(ids):,} silences in Alertmanager in "
                f"{time.perf_counter() - began:.1f} s; catalog: {len(rules):,} rules, 50 teams"
            )
            began = time.perf_counter()
            listed = len(session.get(f"{server.url}/api/v2/silences", timeout=30).json())
            print(f"GET /api/v2/silences alone: {listed:,} in {time.perf_counter() - began:.2f} s")
            timed("first sync (all new)", server.url, listed)
            timed("steady sync (nothing changed)", server.url, listed)
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda sid: session.delete(
                            f"{server.url}/api/v2/silence/{sid}", timeout=10
                        ),
                        ids[::10],
                    )
                )
            timed("sync after a tenth expired early", server.url, listed)
            print(
                f"ledger: {Silence.objects.count():,} silences, "
                f"{SilenceCoverage.objects.count():,} coverage rows, "
                f"{SilenceEvent.objects.count():,} events"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
