"""A week's stored noise results, comparable across runs (fault tests: "equal to a clean run")."""

from __future__ import annotations

from typing import Any

from alerts.models import CoFiring, Evaluation, RuleFlag, RuleWeek
from alerts.noise.evaluation import week_evaluate


def results(week: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored result of a week, without ids and timestamps, in a stable order."""
    weeks = RuleWeek.objects.filter(week=week).order_by("rule_id")
    ignored = {"id", "evaluated_at"}
    fields = [f.attname for f in RuleWeek._meta.concrete_fields if f.name not in ignored]
    return {
        "rule_weeks": [tuple(getattr(row, name) for name in fields) for row in weeks],
        "flags": list(
            RuleFlag.objects.filter(week=week)
            .order_by("rule_id", "flag")
            .values_list("rule_id", "flag", "evidence", "message")
        ),
        "cofiring": list(
            CoFiring.objects.filter(week=week)
            .order_by("rule_id", "other_id")
            .values_list("rule_id", "other_id", "episodes", "co_fired", "ratio")
        ),
    }


def clean_results(week: str) -> dict[str, list[tuple[Any, ...]]]:
    """The results of a clean in-process evaluation at the same `now` as the last stored one
    (open episodes count up to `now`), for comparison with what survived a fault."""
    last = Evaluation.objects.filter(week=week, status="done").latest("finished_at")
    week_evaluate(week=week, now=last.requested_at)
    return results(week)
