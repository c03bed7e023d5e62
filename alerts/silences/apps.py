from django.apps import AppConfig


class SilencesConfig(AppConfig):
    name = "alerts.silences"
    label = "silences"
    verbose_name = "Silences"
    default_auto_field = "django.db.models.BigAutoField"
