from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # Catalog changes invalidate cached ownership answers.
        from alerts import receivers as evaluation_receivers
        from alerts import signals
        from alerts.catalog import ownership_cache  # noqa: F401

        # The weekly review posts its agenda to chat after the Monday evaluation.
        from alerts.review import receivers as review_receivers  # noqa: F401

        # Ingested deliveries enqueue a debounced re-evaluation of the weeks they touched.
        signals.episodes_changed.connect(
            evaluation_receivers.enqueue_evaluation, dispatch_uid="alerts.enqueue_evaluation"
        )
