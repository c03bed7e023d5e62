"""Steward settings, read from the environment (see README "Configuration").

With nothing set, Steward runs on SQLite with Celery tasks executed in-process. Production sets
DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and turns DEBUG off.
"""

from __future__ import annotations

import contextlib
import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_float,
    env_int,
    env_int_map,
    env_list,
    env_networks,
    env_str,
)
from core.logs import logging_config

# Makes Django's generic classes (ModelAdmin[Team], …) subscriptable at runtime, as typed.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
_secret_key = env_str("SECRET_KEY")
if not _secret_key:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    _secret_key = "insecure-development-key-only-for-debug-mode"  # noqa: S105
SECRET_KEY: str = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
STEWARD_BASE_URL = (env_str("STEWARD_BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
PROMETHEUS_URL = env_str("PROMETHEUS_URL", "") or ""
ALERTMANAGER_URL = env_str("ALERTMANAGER_URL", "") or ""
# Root of the repository holding the rule files: imported files under it are remembered by their
# path relative to it, so a review's patch applies there with `git apply`.
STEWARD_RULES_ROOT = env_str("STEWARD_RULES_ROOT", "") or ""
# Under STEWARD_REQUIRE_SERVICES=1 (CI's PostgreSQL lane) a test that needs PostgreSQL, Redis
# or a Celery worker fails instead of skipping when the service is missing.
STEWARD_REQUIRE_SERVICES = env_bool("STEWARD_REQUIRE_SERVICES", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # Layers, lowest first (pyproject.toml [tool.importlinter] enforces the direction).
    "fleet",
    "tokens",
    "runbooks",
    "alerts",
    "alerts.automation",
    "alerts.silences",
    "fleet_coverage",
    "demo",
    "ops",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "ops.middleware.HttpMetricsMiddleware",
    # Outside the session and user middleware, whose database reads it must also answer for.
    "config.middleware.DatabaseUnavailableMiddleware",
    # Webhooks answer from here: none of the page middleware below applies to them.
    "config.middleware.WebhookMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.PagesLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, default SQLite next to the code. Persistent connections with health
# checks keep the ingest path at one connection per worker thread instead of one per request.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 600, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django 6's default today: a URL typed without a scheme in a form means https.
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes refuses logins (admin and pages alike) after STEWARD_LOGIN_FAILURE_LIMIT failures
# for one username from one client address, for STEWARD_LOGIN_COOLOFF_MINUTES. Attempts are
# kept in the database, so every gunicorn worker sees the same count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("STEWARD_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = env_int("STEWARD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STEWARD_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.security.client_ip"
# A styled 429 that says until when (config.lockout); retries while locked do not prolong it.
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_page"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Styled CSRF failure page; JSON under /api/ (config.error_pages).
CSRF_FAILURE_VIEW = "config.error_pages.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Alertmanager groups can be large: accept bodies up to STEWARD_MAX_BODY_BYTES (10 MiB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("STEWARD_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)

# Cache: Redis when configured (shared by all workers), otherwise process-local memory.
REDIS_URL = env_str("REDIS_URL") or ""
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Fail fast when Redis is unreachable: the ingest path only uses the cache for
            # derived work (the evaluation debounce) and must not hang on it.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: with no broker the tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ""
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A week's full evaluation takes 4-13 s at 1-3M episodes (README "Benchmark"): 120 s leaves
# ample room and keeps the visibility timeout below, hence the wait after a crash, short.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 100, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a web request (the debounced evaluation) gives up within about a second when
# the broker is down; the caller logs it and the hourly beat evaluation catches up.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A burst of deliveries for a week makes one re-evaluation this many seconds after the first.
STEWARD_EVALUATION_DEBOUNCE_SECONDS = env_int("STEWARD_EVALUATION_DEBOUNCE_SECONDS", 60, minimum=0)
# A task unacknowledged for this long is redelivered to another worker (or the restarted one):
# after a whole worker is killed, its tasks wait about this long (kombu looks for them when a
# worker starts and every 100 s). A live worker holds a message from the moment it reserves it:
# through its countdown (the debounce, or a retry's: busy 30 s, lost connection up to 60 s, see
# alerts/tasks.py) and its run (up to the hard time limit). The default covers that, plus a
# margin, so no live task is redelivered; were one ever, the tasks are idempotent.
_LONGEST_COUNTDOWN = max(STEWARD_EVALUATION_DEBOUNCE_SECONDS, 60)
_visibility_timeout = env_int(
    "CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + _LONGEST_COUNTDOWN + 20, minimum=1
)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Noise evaluation (alerts/tasks.py): the running week every hour, and last week once more
    # on Monday morning so that late resolves and feedback land before the weekly review.
    "evaluate-current-week": {
        "task": "steward.evaluate_current_week",
        "schedule": crontab(minute=5),
    },
    "evaluate-previous-week": {
        "task": "steward.evaluate_previous_week",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
    # Monday 06:00 UTC: the week's coverage scorecards, for the 12-week trend.
    "snapshot-scorecards": {
        "task": "fleet.snapshot_scorecards",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
    # Daily 03:30 UTC: retention (alerts/retention/services.py), batched; also creates the
    # PostgreSQL partitions of the months ahead.
    "retention-apply": {
        "task": "alerts.retention_apply",
        "schedule": crontab(minute=30, hour=3),
    },
}
# Runbook automation: settle verifications whose episode resolved or whose wait ran out (a
# worker's verify task does it on time; this catches what a lost task left pending).
CELERY_BEAT_SCHEDULE["automation-settle-verifications"] = {
    "task": "automation.settle_verifications",
    "schedule": 60,
}
if ALERTMANAGER_URL:
    # Mute decisions' silences: retry those pending, expire those of undone mutes, notice those
    # removed or shortened outside Steward (alerts/review/carry_out.py).
    CELERY_BEAT_SCHEDULE["review-decision-silences"] = {
        "task": "alerts.review.decision_silences_sweep",
        "schedule": env_int("STEWARD_DECISION_SILENCE_SWEEP_SECONDS", 60, minimum=10),
    }
    # Close episodes whose resolve was lost (alerts/integrations/alertmanager/reconcile.py).
    CELERY_BEAT_SCHEDULE["alertmanager-reconcile"] = {
        "task": "alerts.alertmanager.reconcile",
        "schedule": env_int("STEWARD_RECONCILE_SECONDS", 300, minimum=10),
    }
# Silence ledger (alerts/silences/): read every Alertmanager silence this often, then apply the
# teams' enforcement. Policy: the longest silence per severity (page and critical use the page
# maximum, the others the ticket one), the hours without a matching firing alert after which a
# silence is orphaned, the rule count above which it is broad, and the "ending soon" window.
STEWARD_SILENCE_SYNC_SECONDS = env_int("STEWARD_SILENCE_SYNC_SECONDS", 60, minimum=10)
STEWARD_SILENCE_MAX_DAYS_PAGE = env_int("STEWARD_SILENCE_MAX_DAYS_PAGE", 7, minimum=1)
STEWARD_SILENCE_MAX_DAYS_TICKET = env_int("STEWARD_SILENCE_MAX_DAYS_TICKET", 30, minimum=1)
STEWARD_SILENCE_ORPHAN_HOURS = env_int("STEWARD_SILENCE_ORPHAN_HOURS", 24, minimum=1)
STEWARD_SILENCE_BROAD_MAX_RULES = env_int("STEWARD_SILENCE_BROAD_MAX_RULES", 10, minimum=1)
STEWARD_SILENCE_ENDING_SOON_HOURS = env_int("STEWARD_SILENCE_ENDING_SOON_HOURS", 48, minimum=1)
if ALERTMANAGER_URL:
    CELERY_BEAT_SCHEDULE["silences-sync"] = {
        "task": "steward.silences_sync",
        "schedule": STEWARD_SILENCE_SYNC_SECONDS,
    }
# Workers log through LOGGING below (JSON with request ids) instead of Celery's own setup.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tokens.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's defaults with the JSON parser bounded (nesting, unstorable text: core.jsonparse).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Steward API",
    "DESCRIPTION": "Alert governance and runbook manager for fleets of AI systems.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Silences and automation runs both have a `state`: each enum gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "SilenceStateEnum": "alerts.silences.models.Silence.State",
        "ActionRunStateEnum": "alerts.automation.models.ActionRun.State",
    },
    # The schema maps every endpoint and field: a logged-in user or a read/write token only.
    "SERVE_PERMISSIONS": ["api.permissions.ReadScope"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.docs.allow_blank_formats",
        "api.docs.add_created_links",
        "alerts.ingest.openapi.add_webhook_paths",
    ],
}

# Noise thresholds (README "Noise evaluation"); each can be tuned per deployment.
STEWARD_NOISY_FIRES = env_int("STEWARD_NOISY_FIRES", 20, minimum=1)
STEWARD_NOISY_MEDIAN_FACTOR = env_float("STEWARD_NOISY_MEDIAN_FACTOR", 3.0, minimum=1)
STEWARD_NOISY_MEDIAN_MIN_FIRES = env_int("STEWARD_NOISY_MEDIAN_MIN_FIRES", 10, minimum=1)
STEWARD_FLAP_WINDOW_SECONDS = env_int("STEWARD_FLAP_WINDOW_SECONDS", 30 * 60, minimum=1)
STEWARD_FLAPPING_FLAPS = env_int("STEWARD_FLAPPING_FLAPS", 3, minimum=1)
STEWARD_TRANSIENT_SECONDS = env_int("STEWARD_TRANSIENT_SECONDS", 5 * 60, minimum=1)
STEWARD_TRANSIENT_MIN_EPISODES = env_int("STEWARD_TRANSIENT_MIN_EPISODES", 5, minimum=1)
STEWARD_TRANSIENT_RATIO = env_float("STEWARD_TRANSIENT_RATIO", 0.5, minimum=0)
STEWARD_ENGAGEMENT_WINDOW_SECONDS = env_int("STEWARD_ENGAGEMENT_WINDOW_SECONDS", 3600, minimum=1)

# Replay of recorded episodes under a proposed for/keep_firing_for (README "Replay").
STEWARD_REPLAY_WEEKS = env_int("STEWARD_REPLAY_WEEKS", 4, minimum=1)
STEWARD_REPLAY_EVALUATION_SECONDS = env_int("STEWARD_REPLAY_EVALUATION_SECONDS", 60, minimum=1)
STEWARD_REPLAY_GROUP_WAIT_SECONDS = env_int("STEWARD_REPLAY_GROUP_WAIT_SECONDS", 30, minimum=0)
STEWARD_REPLAY_GROUP_INTERVAL_SECONDS = env_int(
    "STEWARD_REPLAY_GROUP_INTERVAL_SECONDS", 300, minimum=1
)
STEWARD_REPLAY_REPEAT_INTERVAL_SECONDS = env_int(
    "STEWARD_REPLAY_REPEAT_INTERVAL_SECONDS", 4 * 3600, minimum=1
)
STEWARD_ALERTMANAGER_CONFIG = env_str("STEWARD_ALERTMANAGER_CONFIG", "") or ""
STEWARD_REPLAY_REGRET_DELAY_SECONDS = env_int("STEWARD_REPLAY_REGRET_DELAY_SECONDS", 600, minimum=0)
STEWARD_REPLAY_MIN_PAGES_REMOVED = env_float("STEWARD_REPLAY_MIN_PAGES_REMOVED", 0.5, minimum=0)
# Connections the review page's episode query is split over (PostgreSQL builds one query's
# arrays on one core); 1 keeps it on Django's connection alone.
STEWARD_REPLAY_QUERY_CONNECTIONS = env_int("STEWARD_REPLAY_QUERY_CONNECTIONS", 2, minimum=1)
STEWARD_IGNORED_MIN_EPISODES = env_int("STEWARD_IGNORED_MIN_EPISODES", 5, minimum=1)
STEWARD_IGNORED_RATIO = env_float("STEWARD_IGNORED_RATIO", 0.2, minimum=0)
STEWARD_UNACTIONABLE_MIN_FEEDBACK = env_int("STEWARD_UNACTIONABLE_MIN_FEEDBACK", 3, minimum=1)
STEWARD_UNACTIONABLE_RATIO = env_float("STEWARD_UNACTIONABLE_RATIO", 0.3, minimum=0)
STEWARD_SLEEP_THIEF_INTERRUPTIONS = env_int("STEWARD_SLEEP_THIEF_INTERRUPTIONS", 2, minimum=1)
STEWARD_STUCK_SECONDS = env_int("STEWARD_STUCK_SECONDS", 5 * 24 * 3600, minimum=1)
STEWARD_COFIRING_WINDOW_SECONDS = env_int("STEWARD_COFIRING_WINDOW_SECONDS", 120, minimum=1)
STEWARD_DUPLICATE_RATIO = env_float("STEWARD_DUPLICATE_RATIO", 0.8, minimum=0)
STEWARD_DUPLICATE_MIN_EPISODES = env_int("STEWARD_DUPLICATE_MIN_EPISODES", 5, minimum=1)
STEWARD_LONG_MUTED_DAYS = env_int("STEWARD_LONG_MUTED_DAYS", 60, minimum=1)
STEWARD_SILENT_DAYS = env_int("STEWARD_SILENT_DAYS", 90, minimum=1)
# Retention (alerts/retention/): days to keep each kind of data, 0 = forever. Raw delivery bodies
# are blanked (the delivery row stays) after 30 days; episodes are kept 400 days, a year of
# trends for the review plus margin; weekly statistics, flags, decisions and scorecard
# snapshots are kept regardless.
STEWARD_RETAIN_DELIVERY_BODY_DAYS = env_int("STEWARD_RETAIN_DELIVERY_BODY_DAYS", 30, minimum=0)
STEWARD_RETAIN_DELIVERIES_DAYS = env_int("STEWARD_RETAIN_DELIVERIES_DAYS", 90, minimum=0)
STEWARD_RETAIN_EPISODES_DAYS = env_int("STEWARD_RETAIN_EPISODES_DAYS", 400, minimum=0)
STEWARD_RETAIN_FEEDBACK_DAYS = env_int(
    "STEWARD_RETAIN_FEEDBACK_DAYS", STEWARD_RETAIN_EPISODES_DAYS, minimum=0
)
# Rows per retention batch (one short transaction each).
STEWARD_RETENTION_BATCH = env_int("STEWARD_RETENTION_BATCH", 2000, minimum=1)
STEWARD_RUNBOOK_REVIEW_DAYS = env_int("STEWARD_RUNBOOK_REVIEW_DAYS", 90, minimum=1)
# Who to call when an alert has no owner (shown on the on-call page), e.g. "#sre-oncall".
STEWARD_FALLBACK_CONTACT = env_str("STEWARD_FALLBACK_CONTACT", "") or ""
# Post each team's review agenda to its chat webhook when last week's evaluation finishes.
STEWARD_REVIEW_CHAT_POST = env_bool("STEWARD_REVIEW_CHAT_POST", False)
# Requests to URLs users set (chat webhooks) never reach loopback, link-local (cloud metadata),
# private or reserved addresses unless one of these networks allows it (core/outbound.py).
STEWARD_OUTBOUND_ALLOW_NETWORKS = env_networks("STEWARD_OUTBOUND_ALLOW_NETWORKS")
# Runbook automation (alerts/automation): actions may call only these hosts (names, or
# host:port); an internal address also needs STEWARD_OUTBOUND_ALLOW_NETWORKS.
STEWARD_AUTOMATION_ALLOWED_HOSTS = env_list("STEWARD_AUTOMATION_ALLOWED_HOSTS")
# `make demo` sets STEWARD_DEMO=1 (honoured only with DEBUG): Steward serves the demo's
# automation receiver (demo/automation.py) and its actions may call Steward's own address
# (STEWARD_BASE_URL's host:port, and its loopback or literal address), no other internal one.
STEWARD_DEMO = DEBUG and env_bool("STEWARD_DEMO", False)
if STEWARD_DEMO:
    _own = urlsplit(STEWARD_BASE_URL)
    STEWARD_AUTOMATION_ALLOWED_HOSTS = [*STEWARD_AUTOMATION_ALLOWED_HOSTS, _own.netloc]
    if _own.hostname == "localhost":
        STEWARD_OUTBOUND_ALLOW_NETWORKS = [*STEWARD_OUTBOUND_ALLOW_NETWORKS, "127.0.0.1", "::1"]
    elif _own.hostname:
        with contextlib.suppress(ValueError):  # a name: listed as a host only
            STEWARD_OUTBOUND_ALLOW_NETWORKS = [
                *STEWARD_OUTBOUND_ALLOW_NETWORKS,
                str(ipaddress.ip_address(_own.hostname)),
            ]
# Fleet-wide circuit breaker: more automatic runs than this in an hour pause automation.
STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR = env_int(
    "STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR", 30, minimum=1
)
# Runs queued or running at once against one AI system, all actions together.
STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = env_int(
    "STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM", 2, minimum=1
)
# A new or changed action stays in dry run ("would run") for this many triggers.
STEWARD_AUTOMATION_DRY_RUN_TRIGGERS = env_int("STEWARD_AUTOMATION_DRY_RUN_TRIGGERS", 3, minimum=0)
# Disable an action after this many failed or non-resolving runs in a row.
STEWARD_AUTOMATION_DISABLE_AFTER_FAILURES = env_int(
    "STEWARD_AUTOMATION_DISABLE_AFTER_FAILURES", 3, minimum=1
)
# Retries of a run on network errors and 5xx answers (never on 4xx).
STEWARD_AUTOMATION_RETRIES = env_int("STEWARD_AUTOMATION_RETRIES", 2, minimum=0)
# Encrypts action secrets at rest (core/secrets.py); unset: derived from SECRET_KEY.
STEWARD_SECRETS_KEY = env_str("STEWARD_SECRETS_KEY", "") or ""
# Lint gate: `--forecast` warns when a rule would have fired more often than this in 7 days.
STEWARD_LINT_FORECAST_MAX_FIRES = env_int("STEWARD_LINT_FORECAST_MAX_FIRES", 20, minimum=0)
# `lint_rules --forecast --base` fails when a change takes a team above this many pages a week;
# STEWARD_PAGE_BUDGETS overrides it per team slug ("fraud-ml=5,search=20").
STEWARD_PAGE_BUDGET_PER_WEEK = env_int("STEWARD_PAGE_BUDGET_PER_WEEK", 10, minimum=0)
STEWARD_PAGE_BUDGETS = env_int_map("STEWARD_PAGE_BUDGETS")

# Logs: JSON lines by default in production, readable text with DEBUG on (core/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json") or "json"
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or text.")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO") or "INFO")

# Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set and the `otel` extra installed, requests and
# Celery tasks are traced (ops/tracing.py); the standard OTEL_* variables configure the SDK.
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "") or ""

# Self-metrics at /metrics: a bearer token and/or client networks; with neither, loopback only.
STEWARD_METRICS_TOKEN = env_str("STEWARD_METRICS_TOKEN", "") or ""
STEWARD_METRICS_ALLOWED_NETWORKS = env_networks("STEWARD_METRICS_ALLOWED_NETWORKS")
# /readyz remembers "all migrations applied" this long, so probes do not load the graph each time.
STEWARD_READYZ_MIGRATIONS_CACHE_SECONDS = env_int(
    "STEWARD_READYZ_MIGRATIONS_CACHE_SECONDS", 30, minimum=0
)
STEWARD_READYZ_TIMEOUT_SECONDS = env_float("STEWARD_READYZ_TIMEOUT_SECONDS", 2.0, minimum=0.1)
# Celery worker: serve its own metrics on this port (0: off). docker-compose sets 9808.
STEWARD_WORKER_METRICS_PORT = env_int("STEWARD_WORKER_METRICS_PORT", 0, minimum=0)
STEWARD_WORKER_METRICS_ADDRESS = env_str("STEWARD_WORKER_METRICS_ADDRESS") or "0.0.0.0"  # noqa: S104

# Security: secure by default whenever DEBUG is off.
# Content-Security-Policy for every response that has none of its own (config/middleware.py).
STEWARD_CSP = env_str(
    "STEWARD_CSP",
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
)
# Swagger UI (/api/docs/) needs its inline init script and style, and data: images.
STEWARD_CSP_API_DOCS = env_str(
    "STEWARD_CSP_API_DOCS",
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain and its subdomains to HTTPS in browsers for months:
        # the domain owner's decision (SECURE_HSTS_PRELOAD=1), not a default. Everything else
        # `check --deploy` asks for is on.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SAMESITE = "Lax"
STEWARD_BEHIND_PROXY = env_bool("STEWARD_BEHIND_PROXY", False)
# How many proxies append to X-Forwarded-For in front of Steward; the client address is the
# entry that many places from the right (login rate limiting keys on it).
STEWARD_PROXY_COUNT = env_int("STEWARD_PROXY_COUNT", 1, minimum=1)
if STEWARD_BEHIND_PROXY:
    # Only trust X-Forwarded-Proto when a proxy that sets it is known to be in front.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
