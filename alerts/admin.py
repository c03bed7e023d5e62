"""Admin of the alerts app: each feature package registers its own models."""

from alerts.catalog import admin as catalog_admin  # noqa: F401
from alerts.ingest import admin as ingest_admin  # noqa: F401
from alerts.lint import admin as lint_admin  # noqa: F401
