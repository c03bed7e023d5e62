"""Proof against real Prometheus 2.42: `promtool test rules` on a generated grid.

Every pattern is one input series (1 = the expression returns it, 0 = it does not); every
(`for`, `keep_firing_for`) pair is one alerting rule over all patterns. At every evaluation
time, one `alert_rule_test` per rule lists exactly the patterns `alert_intervals_from_samples`
predicts firing; promtool compares them with the alerts its rule engine has firing. A negative
control (one prediction flipped) must make promtool fail.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from alerts.replay.semantics import Interval, alert_intervals_from_samples
from core.durations import duration_format

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")

STEP = timedelta(minutes=1)
LENGTH = 90  # evaluations 0m..89m
T0 = datetime(1970, 1, 1, tzinfo=UTC)  # promtool's time zero
FORS = [timedelta(0), STEP, 2 * STEP, 3 * STEP, 5 * STEP, 10 * STEP, timedelta(seconds=90)]
KEEPS = [timedelta(0), timedelta(seconds=30), STEP, 2 * STEP, 3 * STEP, 5 * STEP, 10 * STEP]


def _patterns() -> dict[str, list[bool]]:
    def at(*ranges: tuple[int, int]) -> list[bool]:
        values = [False] * LENGTH
        for first, last in ranges:
            for i in range(first, last):
                values[i] = True
        return values

    patterns = {
        "never": at(),
        "always": at((0, LENGTH)),
        "blip1": at((10, 11)),
        "blip2": at((10, 12)),
        "blip3": at((20, 23)),
        "blips_spaced": at((5, 6), (15, 16), (25, 27), (40, 41), (70, 72)),
        "flap_1on1off": at(*[(i, i + 1) for i in range(10, 50, 2)]),
        "flap_2on1off": at(*[(i, i + 2) for i in range(10, 60, 3)]),
        "flap_3on2off": at(*[(i, i + 3) for i in range(5, 80, 5)]),
        "flap_5on4off": at(*[(i, i + 5) for i in range(0, 85, 9)]),
        "long": at((10, 60)),
        "long_two": at((5, 35), (50, 80)),
        "start_boundary": at((0, 7)),
        "end_boundary": at((80, LENGTH)),
        "late_start": at((86, LENGTH)),
        "gap_just_under": at((10, 30), (32, 50)),
        "gap_long": at((10, 30), (45, 60)),
        "exact_for": at((10, 13), (20, 25), (30, 40)),
        "tail_gap": at((0, 40), (88, LENGTH)),
    }
    rng = random.Random(15)  # fixed seed: the same cases every run
    for n in range(12):
        density = [0.3, 0.5, 0.8][n % 3]
        values, state = [], False
        for _ in range(LENGTH):
            if rng.random() > density:
                state = not state
            values.append(state)
        patterns[f"random{n}"] = values
    return patterns


def _firing_at(intervals: list[Interval], k: int) -> bool:
    ts = T0 + k * STEP
    return any(i.start <= ts and (i.end is None or ts < i.end) for i in intervals)


def _write(tmp: Path, patterns: dict[str, list[bool]], *, flip: bool = False) -> tuple[Path, int]:
    groups_rules = []
    tests = []
    checks = 0
    for p, (for_, keep) in enumerate((f, k) for f in FORS for k in KEEPS):
        name = f"Pair{p}"
        rule: dict[str, object] = {"alert": name, "expr": "sig > 0"}
        if for_:
            rule["for"] = duration_format(for_)
        if keep:
            rule["keep_firing_for"] = duration_format(keep)
        groups_rules.append(rule)
        predicted = {
            pattern: alert_intervals_from_samples(
                values, start=T0, step=STEP, for_=for_, keep_firing_for=keep
            )
            for pattern, values in patterns.items()
        }
        for k in range(LENGTH):
            firing = sorted(q for q, ivs in predicted.items() if _firing_at(ivs, k))
            if flip and p == len(FORS) * len(KEEPS) - 1 and k == 12:
                firing = sorted(set(firing) ^ {"blip3"})
            tests.append(
                {
                    "eval_time": f"{k}m",
                    "alertname": name,
                    "exp_alerts": [{"exp_labels": {"pattern": q}} for q in firing],
                }
            )
            checks += 1
    (tmp / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "grid", "interval": "1m", "rules": groups_rules}]})
    )
    series = [
        {
            "series": f'sig{{pattern="{name}"}}',
            "values": " ".join("1" if v else "0" for v in values),
        }
        for name, values in patterns.items()
    ]
    test_file = tmp / "test.yml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yml"],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}],
            }
        )
    )
    return test_file, checks


def _promtool(test_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (fixed binary, generated file)
        ["promtool", "test", "rules", test_file.name],  # noqa: S607
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_replay_matches_promtool_on_the_grid(tmp_path: Path) -> None:
    patterns = _patterns()
    test_file, checks = _write(tmp_path, patterns)
    result = _promtool(test_file)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pairs = len(FORS) * len(KEEPS)
    print(  # noqa: T201
        f"promtool agreed on {len(patterns)} patterns x {pairs} (for, keep_firing_for) pairs "
        f"at {LENGTH} evaluations each ({checks} alert_rule_test entries, "
        f"{len(patterns) * pairs * LENGTH} series-evaluations)"
    )
    assert len(patterns) >= 30
    assert pairs == 49


def test_promtool_catches_a_wrong_prediction(tmp_path: Path) -> None:
    test_file, _ = _write(tmp_path, _patterns(), flip=True)
    result = _promtool(test_file)
    assert result.returncode != 0
    assert "Pair48" in result.stdout + result.stderr
