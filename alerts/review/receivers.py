"""When the Monday evaluation of last week finishes, post the agenda to the teams' chats."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver

from alerts.models import Evaluation
from alerts.signals import evaluation_finished, rule_files_imported
from core.weeks import last_complete_week


@receiver(evaluation_finished, dispatch_uid="review_post_agenda_to_chat")
def post_agenda_after_evaluation(sender: Any, evaluation: Evaluation, **kwargs: Any) -> None:
    if not settings.STEWARD_REVIEW_CHAT_POST:
        return
    if evaluation.status != Evaluation.Status.DONE:
        return
    # Only the scheduled Monday evaluation of the week that just ended opens a review; a
    # re-evaluation (a late delivery, a rule change, a person) must not post the agenda again.
    if evaluation.trigger != Evaluation.WEEKLY_TRIGGER or evaluation.week != last_complete_week():
        return
    from alerts.review.tasks import post_agenda_to_chat

    week = evaluation.week
    transaction.on_commit(lambda: post_agenda_to_chat.delay(week))


@receiver(rule_files_imported, dispatch_uid="review_observe_import")
def observe_import(
    sender: Any, arrived: dict[str, set[tuple[str, str]]], origin: str, **kwargs: Any
) -> None:
    """An import shows which prune, retire and tune decisions were carried out."""
    from alerts.review.carry_out import decisions_observe_import

    decisions_observe_import(arrived=arrived, origin=origin)
