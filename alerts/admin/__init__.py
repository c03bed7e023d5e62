"""Admin registrations, one module per feature."""

from alerts.admin import ingest  # noqa: F401
