from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import receivers, signals

        signals.episodes_changed.connect(
            receivers.enqueue_evaluation, dispatch_uid="alerts.enqueue_evaluation"
        )
