"""Reads from Prometheus's HTTP API through prometheus-api-client.

`prometheus_connect` is the one place a Prometheus client is built (sync, backfill, lint
forecast): TLS certificates are always verified. A private CA is trusted through the standard
`REQUESTS_CA_BUNDLE` environment variable, which requests reads.
"""

from __future__ import annotations

from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry


class PrometheusError(Exception):
    """Prometheus could not be reached or answered something unusable."""


def prometheus_connect(*, url: str, retries: int = 3) -> PrometheusConnect:
    """A client for `url` that retries 502/503/504 and verifies TLS certificates."""
    retry = Retry(total=retries, backoff_factor=0.2, status_forcelist=[502, 503, 504])
    return PrometheusConnect(url=url, disable_ssl=False, retry=retry)


def prometheus_rule_groups(*, url: str, timeout: float = 10.0, retries: int = 3) -> list[Any]:
    """The rule groups of `/api/v1/rules`.

    prometheus-api-client 0.6 has no rules method, so this uses its configured session and
    URL (headers, auth and TLS settings stay in one place).
    """
    prom = prometheus_connect(url=url, retries=retries)
    endpoint = f"{prom.url.rstrip('/')}/api/v1/rules"
    try:
        response = prom._session.get(  # noqa: SLF001 - the client exposes no rules method
            endpoint,
            headers=prom.headers,
            auth=prom.auth,
            verify=prom._session.verify,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise PrometheusError(f"Cannot reach Prometheus at {endpoint}: {exc}") from exc
    if response.status_code != 200:
        raise PrometheusError(f"{endpoint} answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise PrometheusError(f"{endpoint} did not answer JSON") from exc
    groups = body.get("data", {}).get("groups") if isinstance(body, dict) else None
    if body.get("status") != "success" or not isinstance(groups, list):
        raise PrometheusError(f"{endpoint} answered an unexpected body: {str(body)[:200]}")
    return groups
