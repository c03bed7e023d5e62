"""Admin of the alerts app, one module per area (catalog, ingest, noise, review, lint)."""

from alerts.admin import catalog, ingest, lint  # noqa: F401
