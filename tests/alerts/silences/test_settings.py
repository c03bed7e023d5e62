"""The silence settings: the beat schedule exists with ALERTMANAGER_URL, and the policy reads
its thresholds from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alerts.integrations.alertmanager.urls import alertmanager_urls

ROOT = Path(__file__).resolve().parents[3]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings; "
    "entry = settings.CELERY_BEAT_SCHEDULE.get('silences-sync'); "
    "print(json.dumps([entry and entry['task'], entry and entry['schedule'], "
    "settings.STEWARD_SILENCE_MAX_DAYS_PAGE, settings.STEWARD_SILENCE_ORPHAN_HOURS]))"
)


def _probe(**env: str) -> list[object]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("ALERTMANAGER", "STEWARD_SILENCE"))
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_beat_syncs_silences_only_with_an_alertmanager() -> None:
    assert _probe(ALERTMANAGER_URL="")[0] is None
    task, every, page_days, orphan_hours = _probe(
        ALERTMANAGER_URL="http://am-0:9093,http://am-1:9093",
        STEWARD_SILENCE_SYNC_SECONDS="30",
        STEWARD_SILENCE_MAX_DAYS_PAGE="3",
        STEWARD_SILENCE_ORPHAN_HOURS="12",
    )
    assert (task, every, page_days, orphan_hours) == ("steward.silences_sync", 30, 3, 12)


def test_alertmanager_urls_of_an_ha_cluster() -> None:
    assert alertmanager_urls(" http://am-0:9093/, http://am-1:9093 ,,http://am-0:9093") == [
        "http://am-0:9093",
        "http://am-1:9093",
    ]
    assert alertmanager_urls("") == []
    assert alertmanager_urls(["http://x/"]) == ["http://x"]
