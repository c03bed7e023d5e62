from django.apps import AppConfig


class CoverageConfig(AppConfig):
    # The package is not named `coverage` so that it cannot shadow coverage.py.
    name = "fleet_coverage"
    label = "coverage"
    verbose_name = "Coverage: SLOs and scorecards"
