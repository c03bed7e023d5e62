"""Celery: the silence ledger's sync (beat, every STEWARD_SILENCE_SYNC_SECONDS) and enforcement."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from alerts.integrations.alertmanager.urls import alertmanager_urls
from alerts.silences.client import AlertmanagerUnavailable
from alerts.silences.services import silences_enforce, silences_sync

logger = logging.getLogger(__name__)


@shared_task(
    name="steward.silences_sync",
    autoretry_for=(AlertmanagerUnavailable,),
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=3,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=100,
    time_limit=120,
)
def sync_silences() -> str:
    """Sync the ledger from ALERTMANAGER_URL, then apply the teams' enforcement."""
    urls = alertmanager_urls(settings.ALERTMANAGER_URL)
    if not urls:
        return "ALERTMANAGER_URL is not set"
    result = silences_sync(urls=urls)
    enforced = silences_enforce(urls=urls)
    summary = (
        f"{result.summary()}; enforcement: {len(enforced.expired)} expired, "
        f"{len(enforced.would_expire)} in dry run, {len(enforced.failed)} failed"
    )
    logger.info("silences synced: %s", summary)
    return summary
