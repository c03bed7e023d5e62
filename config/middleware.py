from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.template import loader
from django.urls import Resolver404, ResolverMatch, resolve

from api.errors import is_api_request
from config.error_pages import database_unavailable
from core.database import is_database_unavailable
from core.logs import clean_request_id, request_id_var

_access_log = logging.getLogger("steward.request")
_WEBHOOK_PREFIX = "/api/v1/integrations/"

# These prefixes authenticate themselves (API tokens) or must answer anonymous probes.
_SELF_AUTHENTICATED_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/static/")


class PagesLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login unless marked `login_not_required`.

    The API is left to DRF, whose token authentication and permissions answer 401/403 in JSON
    instead of redirecting to the login form.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(_SELF_AUTHENTICATED_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RefuseNulMiddleware:
    """A page request with NUL in its path, query string or form answers 400 saying so.

    NUL can never be stored or looked up (PostgreSQL refuses it in text: a page filtering on
    `?team=%00` answered 500), and no honest link or form carries one. The API answers its own
    JSON 400 (`api.permissions.reject_nul_characters`), and the webhooks log the delivery they
    refuse, so /api/ is left to them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not is_api_request(request) and _has_nul(request):
            body = loader.render_to_string(
                "errors/400.html",
                {"reason": "The address or form holds a NUL character, which no page accepts."},
            )
            return HttpResponseBadRequest(body)
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    forms = [request.GET]
    if request.method == "POST":
        forms.append(request.POST)
    return any(
        "\x00" in key or "\x00" in value
        for form in forms
        for key, values in form.lists()
        for value in values
    )


class RequestIdMiddleware:
    """Gives every request an id (reused from `X-Request-ID` when sane) for logs and responses.

    Placed first, so that every log line of the request, Celery tasks it enqueues (see
    `ops.celery_hooks`) and the one access-log line written here carry the same id.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = clean_request_id(request.headers.get("X-Request-ID")) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            _access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class ContentSecurityPolicyMiddleware:
    """A strict site-wide Content-Security-Policy, unless the view already set its own.

    The runbook pages set their own policy; the Swagger UI at /api/docs/ ships an inline
    style and init script, so that path alone gets STEWARD_CSP_API_DOCS.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if request.path.startswith("/api/docs/"):
            policy = settings.STEWARD_CSP_API_DOCS
        else:
            policy = settings.STEWARD_CSP
        if policy:
            response["Content-Security-Policy"] = policy
        return response


# The database failure of the request being answered, if any (see DatabaseUnavailableMiddleware).
_database_failure: ContextVar[BaseException | None] = ContextVar("database_failure", default=None)
_logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """503 with Retry-After, never a 500, while the database cannot be reached.

    A view's exception arrives in `process_exception`. One raised by an inner middleware (the
    session and user read for the login check) has already become Django's 500 when the chain
    returns here, so `got_request_exception`, which Django sends first, records it and the 500
    is replaced. Either way the refusal is one warning line; `core.database.
    DatabaseUnavailableLogFilter` keeps Django's traceback for it out of the log.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _database_failure.set(None)
        try:
            response = self.get_response(request)
            failure = _database_failure.get()
            if failure is not None and response.status_code == 500:
                return _refuse(request, failure)
            return response
        finally:
            _database_failure.reset(token)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if not is_database_unavailable(exception):
            return None
        return _refuse(request, exception)


def _refuse(request: HttpRequest, failure: BaseException) -> HttpResponseBase:
    _logger.warning(
        "%s %s refused: database unavailable (%s)",
        request.method,
        request.path,
        type(failure).__name__,
    )
    return database_unavailable(request)


def _note_database_failure(sender: object, **kwargs: Any) -> None:
    failure = sys.exc_info()[1]
    if is_database_unavailable(failure):
        _database_failure.set(failure)


got_request_exception.connect(_note_database_failure, dispatch_uid="steward-database-failure")


class WebhookMiddleware:
    """The webhooks (`/api/v1/integrations/…`) skip the page middleware below this one.

    A webhook authenticates with its token, never with a session or CSRF token, renders no
    page and sets no cookie, so sessions, CSRF, users, the login check, messages, whitenoise and
    django-axes only cost it time (about a fifth of a one-alert delivery's CPU). This calls the
    view directly after what still applies: the Host check (ALLOWED_HOSTS), the http→https
    redirect when SECURE_SSL_REDIRECT is on (left to the full chain), and the security headers
    every response carries (SecurityMiddleware's, X-Frame-Options, the Content-Security-Policy).
    Everything outside it — request id and access line, metrics, 503 while the database is
    unavailable — applies as to every request. Anything else under the prefix (an unknown
    path) takes the full chain.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.security import SecurityMiddleware

        self.get_response = get_response
        self.security = SecurityMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)
        # Resolved webhook paths (URL patterns are fixed for the life of the process).
        self.matches: dict[str, ResolverMatch] = {}

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if not path.startswith(_WEBHOOK_PREFIX) or (
            settings.SECURE_SSL_REDIRECT and not request.is_secure()
        ):
            return self.get_response(request)
        match = self.matches.get(path)
        if match is None:
            try:
                match = resolve(path)
            except Resolver404:
                return self.get_response(request)
            if len(self.matches) < 64:  # one per source endpoint; odd paths are not kept
                self.matches[path] = match
        request.get_host()  # DisallowedHost (400) unless in ALLOWED_HOSTS, as on every path
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        self.security.process_response(request, response)
        self.frame_options.process_response(request, response)
        if settings.STEWARD_CSP and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.STEWARD_CSP
        if "Content-Length" not in response:  # keep-alive without chunking, as CommonMiddleware
            response["Content-Length"] = str(len(response.content))
        return response
