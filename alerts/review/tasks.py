"""Celery tasks of the weekly review: JSON-only arguments, the work lives in review.chat."""

from __future__ import annotations

from celery import shared_task

from alerts.review.chat import agenda_post_all
from core.weeks import parse_week


@shared_task(name="alerts.review.post_agenda_to_chat", ignore_result=True)
def post_agenda_to_chat(week: str) -> dict[str, bool]:
    """Post `week`'s agenda to every team's chat webhook. Safe to repeat."""
    parse_week(week)
    return agenda_post_all(week=week)
