from __future__ import annotations

import requests
from celery import shared_task
from django.conf import settings

from alerts.integrations.alertmanager.reconcile import episodes_reconcile


@shared_task(
    name="alerts.alertmanager.reconcile",
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    max_retries=3,
)
def reconcile_open_episodes() -> int:
    """Close open episodes that ALERTMANAGER_URL no longer lists; returns how many."""
    if not settings.ALERTMANAGER_URL:
        return 0
    return episodes_reconcile(alertmanager_url=settings.ALERTMANAGER_URL).closed
