from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"
    verbose_name = "Fleet"

    def ready(self) -> None:
        from fleet_coverage import admin as admin_slo  # noqa: F401  (registers the SLO admin)
