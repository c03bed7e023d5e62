"""The ingest webhooks in the OpenAPI schema (a drf-spectacular postprocessing hook).

The webhook view (alerts/ingest/views.py) is a plain Django view on purpose: it is the
hot path and controls every status itself. drf-spectacular only describes DRF views, so rather
than wrapping the hot path in an APIView this hook adds one path per source to the generated
schema. Nothing of it runs per delivery: the hook only runs when the schema is generated.

Request examples are real payloads (alerts/integrations/examples/, copies of the fixtures the
ingest tests replay: tests/alerts/integrations/test_openapi_examples.py keeps them in step and
posts each one).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from alerts.integrations.registry import SOURCES

EXAMPLES = Path(__file__).resolve().parents[1] / "integrations" / "examples"
TAG = "integrations"

SOURCE_DOCS: dict[str, str] = {
    "alertmanager": "Prometheus Alertmanager's webhook (payload version 4): add a "
    "`webhook_configs` receiver with `url: <steward>/api/v1/integrations/alertmanager/` and "
    "`http_config.authorization.credentials: <ingest token>`. Every alert becomes or updates an "
    "episode keyed by its fingerprint; repeats are counted as duplicates.",
    "grafana": "Grafana alerting's *Webhook* contact point. With a signing secret on the "
    "integration, `X-Grafana-Alert-Signature` (hex HMAC-SHA256 of the body, or of "
    "`<timestamp>:<body>` with `X-Grafana-Alert-Timestamp`) is required; missing or wrong → 401.",
    "datadog": "Datadog's Webhooks integration with Steward's payload template (see the "
    "README): a trigger opens an episode or joins the open one, a recovery closes it.",
    "whylabs": "A WhyLabs custom webhook notification (digest or every anomaly): one closed "
    "`ml`-layer episode per anomalous column. `?system=<slug>` names the AI system, else the "
    "WhyLabs dataset id.",
    "evidently": "An Evidently test suite result (`test_suite.json()`): FAIL/ERROR/WARNING "
    "fires, SUCCESS resolves the open episode; `ml` layer. `?system=<slug>` names the AI system.",
    "generic": 'Any other sender: `{"alerts": [{"labels": {"alertname": …}, "status": '
    '"firing"|"resolved", "annotations": {}, "startsAt": …, "endsAt": …}]}`; without '
    "`startsAt` an alert joins its open episode (or opens one now).",
}
SYSTEM_PARAMETER = {
    "in": "query",
    "name": "system",
    "required": False,
    "schema": {"type": "string"},
    "description": "Slug of the AI system the alerts belong to.",
}
COMMON = (
    "Needs an `ingest` token (`Authorization: Bearer <token>`, or basic auth with the token as "
    "password); `read` and `write` tokens get 403. The body must be JSON "
    "(`Content-Type: application/json`, else 415). A payload that can never succeed is "
    "answered 400/422 naming the problem and logged as a rejected delivery; 413 above "
    "DATA_UPLOAD_MAX_MEMORY_SIZE; 503 with `Retry-After` (never 429) when the database is "
    "unavailable, so that the sender retries."
)
RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok"]},
        "delivery": {"type": "integer", "description": "Id of the stored Delivery."},
        "alerts": {"type": "integer"},
        "opened": {"type": "integer"},
        "updated": {"type": "integer"},
        "closed": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "truncated": {"type": "integer"},
    },
    "required": ["status", "delivery", "alerts", "opened", "updated", "closed", "duplicates"],
}
RESULT_EXAMPLE = {
    "status": "ok",
    "delivery": 1042,
    "alerts": 2,
    "opened": 2,
    "updated": 0,
    "closed": 0,
    "duplicates": 0,
    "truncated": 0,
}
# Not the API's {"error": {…}} body: senders (Alertmanager, Grafana…) only log it, and the
# hot path builds it without DRF.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["error"]}, "error": {"type": "string"}},
    "required": ["status", "error"],
}
ERRORS = {
    "400": ("The body is not a JSON object or misses a field.", "The body is not valid JSON."),
    "401": ("Missing or invalid token, or a bad Grafana signature.", "Missing token."),
    "403": (
        "The token is not an `ingest` token.",
        "This token has scope 'read'; webhooks need 'ingest'.",
    ),
    "413": (
        "The body is too large.",
        "The body is larger than the accepted maximum (10 MiB by default).",
    ),
    "415": (
        "The body is not JSON.",
        "Content-Type must be application/json, got 'text/plain'.",
    ),
    "422": (
        "A value the payload cannot carry (e.g. an unfilled template variable).",
        "body.date: not a number",
    ),
    "503": (
        "The database is unavailable; retry later.",
        "The database is unavailable; retry later.",
    ),
}


@cache
def example(source: str) -> Any:
    return json.loads((EXAMPLES / f"{source}.json").read_text())


def _operation(source: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "Stored: what the delivery changed.",
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/WebhookResult"},
                    "examples": {"Stored": {"value": RESULT_EXAMPLE}},
                }
            },
        }
    }
    for status, (why, message) in ERRORS.items():
        responses[status] = {
            "description": why,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/WebhookError"},
                    "examples": {"Refused": {"value": {"status": "error", "error": message}}},
                }
            },
        }
    operation: dict[str, Any] = {
        "operationId": f"integrations_{source}_webhook",
        "summary": f"Receive {source} alerts",
        "description": f"{SOURCE_DOCS[source]}\n\n{COMMON}",
        "tags": [TAG],
        "security": [{"tokenAuth": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": True},
                    "examples": {f"A {source} delivery": {"value": example(source)}},
                }
            },
        },
        "responses": responses,
    }
    if source in ("whylabs", "evidently"):
        operation["parameters"] = [SYSTEM_PARAMETER]
    return operation


def add_webhook_paths(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook (SPECTACULAR_SETTINGS): one POST path per source in SOURCES."""
    for source in SOURCES:
        path = f"/api/v1/integrations/{source}/"
        result.setdefault("paths", {})[path] = {"post": _operation(source)}
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["WebhookResult"] = RESULT_SCHEMA
    schemas["WebhookError"] = ERROR_SCHEMA
    return result
