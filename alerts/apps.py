from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # Catalog changes invalidate cached ownership answers and cached token lookups.
        from alerts import ownership_cache  # noqa: F401
        from alerts.api import auth_cache  # noqa: F401

        # The weekly review posts its agenda to chat after the Monday evaluation.
        from alerts.review import receivers  # noqa: F401
