"""Admin registrations of the alerts app, one module per concern."""

from alerts.admin import lint  # noqa: F401
