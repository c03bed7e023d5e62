"""Celery tasks of runbook automation: thin, idempotent per run, acks_late.

`execute_run` is acknowledged only after it ran and requeued if its worker dies; a redelivered
message finds the run finished and does nothing (or, when the worker died mid-request, sends it
again with the same X-Steward-Idempotency-Key). Retries (network errors and 5xx only) are new
messages with a backoff; with no broker (eager) they run at once, in-process.
"""

from __future__ import annotations

from celery import shared_task

from alerts.automation import services
from alerts.automation.models import ActionRun

RETRY_BACKOFF_SECONDS = 5


@shared_task(
    name="automation.execute_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def execute_run(run_id: int) -> None:
    if services.run_execute(run_id) == "retry":
        tries = ActionRun.objects.values_list("tries", flat=True).get(pk=run_id)
        services._enqueue_execution(run_id, countdown=RETRY_BACKOFF_SECONDS * 2 ** (tries - 1))


@shared_task(name="automation.verify_run", acks_late=True, ignore_result=True)
def verify_run(run_id: int) -> None:
    if not services.run_verify(run_id):
        verify_run.apply_async(args=(run_id,), countdown=services.VERIFY_POLL_SECONDS)


@shared_task(name="automation.automatic_trigger", acks_late=True, ignore_result=True)
def automatic_trigger(action_id: int, episode_id: int) -> None:
    services.automatic_trigger(action_id=action_id, episode_id=episode_id)


@shared_task(name="automation.settle_verifications", acks_late=True, ignore_result=True)
def settle_verifications() -> None:
    services.verifications_settle()
