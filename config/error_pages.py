"""Error pages: the site's layout with a way back for people, the API's JSON body under /api/.

Wired as handler400/403/404/500 in `config.urls` and as `CSRF_FAILURE_VIEW`. Each handler asks
`is_api_request` first, so an API client never has to parse HTML.
"""

from __future__ import annotations

import logging

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.template import loader

from api.errors import database_unavailable_body, error_body, is_api_request
from core.database import RETRY_AFTER_SECONDS
from core.logs import request_id_var

logger = logging.getLogger(__name__)

# What the 500 handler answers if even its template cannot render (missing static manifest,
# broken template): no template engine, no database, nothing that can fail again.
_BARE_500 = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Server error · Steward</title>"
    "</head><body><h1>Something went wrong on our side</h1><p>The error has been logged. "
    '<a href="/">Back to the overview</a></p></body></html>'
)

_BARE_503 = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Database unavailable · "
    "Steward</title></head><body><h1>Steward cannot reach its database right now</h1>"
    "<p>Try again in a few seconds.</p></body></html>"
)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400. Rendered without the request: a bad request (a forged Host header, say) is
    exactly the one whose session and user should not be looked up."""
    if is_api_request(request):
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return HttpResponseBadRequest(loader.render_to_string("errors/400.html"))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403. The reason a view gave (`PermissionDenied("Only members of …")`) is shown:
    views write it for the person refused."""
    reason = str(exception)
    if is_api_request(request):
        return JsonResponse(
            error_body("permission_denied", reason or "Permission denied."), status=403
        )
    body = loader.render_to_string("errors/403.html", {"reason": reason}, request)
    return HttpResponseForbidden(body)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404."""
    if is_api_request(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    body = loader.render_to_string("errors/404.html", {"request_path": request.path}, request)
    return HttpResponseNotFound(body)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. The page gets no request, so no context processor runs (the session, the
    user and the messages may need the database that just failed); it shows the request id,
    which finds the traceback in the logs."""
    if is_api_request(request):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    body: str
    try:
        body = loader.render_to_string("errors/500.html", {"request_id": request_id_var.get()})
    except Exception:
        logger.exception("The 500 page failed to render; answering the bare one")
        body = _BARE_500
    return HttpResponseServerError(body)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After while the database cannot be reached (see
    `config.middleware.DatabaseUnavailableMiddleware`). Like the 500 page, rendered without the
    request: its session and user are in the database."""
    response: HttpResponse
    if is_api_request(request):
        response = JsonResponse(database_unavailable_body(), status=503)
    else:
        body: str
        try:
            body = loader.render_to_string("errors/503.html", {"request_id": request_id_var.get()})
        except Exception:
            logger.exception("The 503 page failed to render; answering the bare one")
            body = _BARE_503
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. Most often a form left open across a login, a logout or an expired
    session: the page says to reload it rather than naming the token."""
    if is_api_request(request):
        return JsonResponse(error_body("csrf_failed", f"CSRF check failed: {reason}"), status=403)
    body = loader.render_to_string("errors/csrf.html", {"reason": reason}, request)
    return HttpResponseForbidden(body)
