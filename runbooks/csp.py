"""Content-Security-Policy for runbook pages: the second layer behind nh3.

Runbook pages show user-written HTML, so even if a sanitizer bug let markup through, the
browser must refuse inline script, plugins, foreign frames and a rewritten <base>.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponseBase

RUNBOOK_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

View = Callable[..., HttpResponseBase]


def csp_protected(view: View) -> View:
    """Set the runbook CSP on every response of `view`, also on its 403 and 404 pages."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except (PermissionDenied, Http404) as exc:
            response = response_for_exception(request, exc)
        response["Content-Security-Policy"] = RUNBOOK_CSP
        return response

    return wrapped
