"""Celery application.

With CELERY_BROKER_URL unset the settings turn on `task_always_eager`, so the same task code
runs in-process on the embedded default; with it set, a real worker and beat use Redis.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("steward")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["alerts.review"])
app.autodiscover_tasks(["alerts.integrations.alertmanager"])
