"""Celery tasks of the weekly review: JSON-only arguments, the work lives in review.chat."""

from __future__ import annotations

from celery import shared_task

from alerts.review import carry_out
from alerts.review.chat import agenda_post_all
from alerts.silences.client import AlertmanagerUnavailable
from core.weeks import parse_week


@shared_task(name="alerts.review.post_agenda_to_chat", ignore_result=True)
def post_agenda_to_chat(week: str) -> dict[str, bool]:
    """Post `week`'s agenda to every team's chat webhook. Safe to repeat."""
    parse_week(week)
    return agenda_post_all(week=week)


@shared_task(
    name="alerts.review.decision_carry_out",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(AlertmanagerUnavailable,),
    retry_backoff=2,
    # Within the visibility timeout (a countdown longer than it would be redelivered twice).
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=60,
)
def decision_carry_out(decision_id: int) -> None:
    """Create, or expire, a decision's Alertmanager silence. Idempotent; retried with
    exponential backoff while Alertmanager is unreachable (the decision shows "retrying")."""
    carry_out.decision_carry_out(decision_id)


@shared_task(name="alerts.review.decision_silences_sweep", ignore_result=True, acks_late=True)
def decision_silences_sweep() -> dict[str, int]:
    """Beat: retry the silences still pending, expire those of undone mutes, and check that
    live mutes' silences are still in Alertmanager as decided."""
    retried = 0
    for pk in carry_out.decisions_needing_work():
        try:
            carry_out.decision_carry_out(pk)
        except AlertmanagerUnavailable:
            return {"retried": retried, "checked": 0}
        retried += 1
    try:
        changed = carry_out.decision_silences_check()
    except AlertmanagerUnavailable:
        changed = 0
    return {"retried": retried, "changed": changed}


def decision_carry_out_soon(decision_id: int) -> None:
    """Queue the carry-out (call it from `transaction.on_commit`). In-process (no broker), one
    attempt now; a failure stays on the decision as "retrying" for the sweep."""
    if decision_carry_out.app.conf.task_always_eager:
        try:
            carry_out.decision_carry_out(decision_id)
        except AlertmanagerUnavailable:
            pass
        return
    decision_carry_out.delay(decision_id)
