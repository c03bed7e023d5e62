from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operating Steward: health, readiness, self-metrics, request ids, tracing, runbooks."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Connect signal receivers (ingest/evaluation metrics, Celery task hooks) and start
        # tracing when configured; both modules only register handlers on import.
        from ops import celery_hooks, receivers, tracing  # noqa: F401

        tracing.tracing_setup()
