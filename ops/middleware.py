from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from ops import metrics

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetricsMiddleware:
    """Counts responses by status (the 5xx-rate self-alert) and times every request.

    Labels stay bounded: no path label, and odd methods are folded into "other". Django turns
    an exception raised further in into a 500 response before it reaches this middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.HTTP_DURATION.labels(method=method).observe(time.perf_counter() - started)
        metrics.HTTP_RESPONSES.labels(method=method, status=str(response.status_code)).inc()
        return response
