from __future__ import annotations

import requests
from celery import shared_task
from django.conf import settings

from alerts.integrations.alertmanager.reconcile import episodes_reconcile
from alerts.integrations.alertmanager.urls import alertmanager_urls


@shared_task(
    name="alerts.alertmanager.reconcile",
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    max_retries=3,
)
def reconcile_open_episodes() -> int:
    """Close open episodes that ALERTMANAGER_URL no longer lists; returns how many."""
    urls = alertmanager_urls(settings.ALERTMANAGER_URL)
    if not urls:
        return 0
    # Every peer of an HA cluster holds the same alerts: the first one answers for all.
    return episodes_reconcile(alertmanager_url=urls[0]).closed
