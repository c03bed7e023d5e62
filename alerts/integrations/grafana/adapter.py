"""Grafana alerting webhook → ingest events, with optional HMAC-SHA256 verification.

When the token's Integration has a `signing_secret`, the request must carry
`X-Grafana-Alert-Signature`: the hex HMAC-SHA256 of the body under that secret, or of
`<timestamp>:<body>` when Grafana also sends `X-Grafana-Alert-Timestamp`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping

from django.http import HttpRequest
from django.utils import timezone

from alerts.ingest.services import Batch
from alerts.integrations.alertmanager.adapter import event
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.grafana.schemas import grafana_webhook
from alerts.integrations.payload import PayloadError
from core.choices import Source
from tokens.models import ApiToken


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    webhook = grafana_webhook(payload)
    now = timezone.now()
    return Batch(
        source=Source.GRAFANA,
        # Grafana's own fingerprint is not Alertmanager's: recompute it from the labels.
        alerts=[
            dataclasses.replace(event(alert, now=now), fingerprint=fingerprint(alert.labels))
            for alert in webhook.alerts
        ],
        truncated=webhook.truncated_alerts,
        group_key=webhook.group_key,
    )


def signature(secret: str, body: bytes, timestamp: str = "") -> str:
    message = f"{timestamp}:".encode() + body if timestamp else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(request: HttpRequest, body: bytes, token: ApiToken) -> None:
    integration = token.integration
    if integration is None or not integration.signing_secret:
        return
    sent = request.headers.get("X-Grafana-Alert-Signature", "")
    if not sent:
        raise PayloadError(
            "X-Grafana-Alert-Signature is required for this integration.", status=401
        )
    timestamp = request.headers.get("X-Grafana-Alert-Timestamp", "")
    expected = signature(integration.signing_secret, body, timestamp)
    if not hmac.compare_digest(sent.strip().lower(), expected):
        raise PayloadError("X-Grafana-Alert-Signature does not match the body.", status=401)
