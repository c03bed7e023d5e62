"""How badly a flagged rule falls short: the agenda's ranking key.

score = severity factor x (sum of flag weights + interruption and fire terms)

* Flag weights put what hurts people first: a sleep thief (woken at night) outweighs a noisy
  rule, which outweighs what is merely untidy (stale runbook, silent rule).
* The severity factor doubles rules that page (page/critical) and halves tickets and info, so
  a noisy page ranks above a noisy warning and a silent ticket ends up last.
* The numbers break ties between rules with the same flags: every sleep-hour interruption adds
  5, every other interruption 2, and fires add 3 x log2(1 + fires) (diminishing, so one
  runaway rule does not drown the rest).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from alerts.models import Flag
from core.choices import Severity

FLAG_WEIGHTS: dict[str, int] = {
    Flag.SLEEP_THIEF: 100,
    Flag.NOISY: 60,
    Flag.FLAPPING: 40,
    Flag.UNACTIONABLE: 40,
    Flag.IGNORED: 35,
    Flag.STUCK: 30,
    Flag.UNOWNED: 30,
    Flag.TRANSIENT: 25,
    Flag.DUPLICATE: 25,
    Flag.NO_RUNBOOK: 20,
    Flag.UNCATALOGUED: 15,
    Flag.STALE_RUNBOOK: 10,
    Flag.LONG_MUTED: 10,
    Flag.SILENT: 5,
}

SEVERITY_FACTORS: dict[str, float] = {
    Severity.PAGE: 2.0,
    Severity.CRITICAL: 2.0,
    Severity.WARNING: 1.0,
    Severity.TICKET: 0.5,
    Severity.INFO: 0.5,
}

# Flags that make a chip red on the page; the rest are amber.
BAD_FLAGS = frozenset({Flag.SLEEP_THIEF, Flag.NOISY, Flag.FLAPPING, Flag.UNACTIONABLE})


def shortfall_score(
    *,
    flags: Iterable[str],
    severity: str,
    fires: int = 0,
    sleep_interruptions: int = 0,
    other_interruptions: int = 0,
) -> float:
    """Higher is worse. Unknown severity counts as a warning."""
    weights = sum(FLAG_WEIGHTS.get(flag, 10) for flag in set(flags))
    numbers = 5 * sleep_interruptions + 2 * other_interruptions + 3 * math.log2(1 + fires)
    return round(SEVERITY_FACTORS.get(severity, 1.0) * (weights + numbers), 2)
