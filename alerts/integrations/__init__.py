"""Inbound sources of alert notifications, one folder each (`schemas.py` validates the
payload, `adapter.py` normalises it into `alerts.ingest.AlertEvent`s for the ingest core)."""
