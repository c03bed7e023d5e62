from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # Connect the weekly review's signal receivers (chat post after the evaluation).
        from alerts.review import receivers  # noqa: F401
