"""Inbound sources of alert notifications, one folder each (`schemas.py` validates the
payload, `adapter.py` normalises it into `AlertEvent`s of alerts.ingest.services)."""
