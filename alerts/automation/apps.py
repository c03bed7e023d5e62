from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "alerts.automation"
    label = "automation"
    verbose_name = "Runbook automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Automatic triggers: episodes opened by a delivery schedule their rule's actions.
        from alerts import signals
        from alerts.automation import receivers

        signals.episodes_changed.connect(
            receivers.schedule_automatic_triggers, dispatch_uid="automation.automatic_triggers"
        )
        receivers.connect_cache_invalidation()
