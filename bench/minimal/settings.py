"""The yardstick of bench/ingest.py: the smallest Django that does Steward's episode upsert.

No apps, no middleware, DEBUG off, persistent connections with health checks (as Steward's
settings), one URL. Only bench/ingest.py starts it.
"""

from __future__ import annotations

import os

import dj_database_url

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "bench-minimal-view-only")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.minimal.urls"
WSGI_APPLICATION = "bench.minimal.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"], conn_max_age=600, conn_health_checks=True
    )
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
BENCH_RULE_ID = int(os.environ.get("BENCH_RULE_ID", "0"))
BENCH_TOKEN = os.environ.get("BENCH_TOKEN", "")
