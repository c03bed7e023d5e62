"""The webhook endpoints: authenticate, validate at the boundary, store durably, answer.

A plain csrf-exempt Django view rather than DRF: it is the hot path (hundreds of deliveries a
second), and it must control every status itself — 401/403 for tokens, 4xx JSON naming the
problem for a payload that can never succeed, 413 above DATA_UPLOAD_MAX_MEMORY_SIZE, 503 (never
429) when the database is unavailable so that the sender retries.
"""

from __future__ import annotations

import logging
import time

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from alerts.ingest.services import delivery_ingest, delivery_reject
from alerts.integrations.payload import PayloadError
from alerts.integrations.registry import SOURCES, SourceSpec
from alerts.models import Delivery
from alerts.signals import delivery_recorded
from core.database import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from core.jsonparse import JsonBadText, JsonTooDeep, json_parse, printable, text_problem
from tokens.auth_cache import token_authenticate_local
from tokens.authentication import raw_token_from_header
from tokens.models import ApiToken

logger = logging.getLogger(__name__)
_UNAVAILABLE = DATABASE_UNAVAILABLE


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"status": "error", "error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _unavailable() -> JsonResponse:
    return _error(
        503,
        "The database is unavailable; retry later.",
        **{"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@csrf_exempt
def webhook(request: HttpRequest, source: str) -> JsonResponse:
    started = time.perf_counter()
    spec = SOURCES.get(source)
    if spec is None:
        return _error(404, f"Unknown source {source!r}; use one of {', '.join(SOURCES)}.")
    if request.method != "POST":
        return _error(405, "Use POST.", Allow="POST")
    response, delivery = _receive(request, spec)
    delivery_recorded.send(
        sender=Delivery, delivery=delivery, duration_seconds=time.perf_counter() - started
    )
    return response


def _receive(request: HttpRequest, spec: SourceSpec) -> tuple[JsonResponse, Delivery]:
    """Authenticate, then ingest. Refusals before the body is read are not stored (an
    unauthenticated sender must not fill the database) but are still reported as deliveries."""
    raw = raw_token_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
    try:
        token = token_authenticate_local(raw) if raw else None
    except _UNAVAILABLE:
        logger.exception("token lookup failed: database unavailable")
        return _unavailable(), _unsaved(spec, "", "database unavailable")
    if token is None:
        message = "Missing token." if not raw else "Invalid or revoked token."
        response = _error(401, message, **{"WWW-Authenticate": 'Bearer realm="steward"'})
        return response, _unsaved(spec, "", message)
    if not token.allows(ApiToken.Scope.INGEST):
        message = f"This token has scope {token.scope!r}; webhooks need 'ingest'."
        return _error(403, message), _unsaved(spec, "", message)
    try:
        bound_elsewhere = not token.posts_to(spec.source)
    except _UNAVAILABLE:
        logger.exception("integration lookup failed: database unavailable")
        return _unavailable(), _unsaved(spec, "", "database unavailable")
    if bound_elsewhere:
        message = _bound_message(token)
        return _error(403, message), _unsaved(spec, "", message)
    try:
        body = request.body
    except RequestDataTooBig:
        message = "The body is larger than the accepted maximum (10 MiB by default)."
        return _error(413, message), _unsaved(spec, "", message)
    return _ingest(request, spec, body, token)


def _bound_message(token: ApiToken) -> str:
    integration = token.integration
    name, source = (integration.name, integration.source) if integration else ("?", "?")
    endpoints = [
        f"/api/v1/integrations/{e}/" for e, spec in SOURCES.items() if spec.source == source
    ]
    where = f"post to {endpoints[0]} with it" if endpoints else "it posts to no webhook"
    return f"This token belongs to the integration {name!r} ({source}); {where}."


def _ingest(
    request: HttpRequest, spec: SourceSpec, body: bytes, token: ApiToken
) -> tuple[JsonResponse, Delivery]:
    content_type = request.META.get("CONTENT_TYPE", "")
    text = body.decode("utf-8", errors="replace")
    try:
        payload = _parse(content_type, body)
        if spec.verify is not None:
            spec.verify(request, body, token)
        _check_params(request)
        batch = spec.adapt(payload, params=request.GET)
        result = delivery_ingest(batch=batch, body=text, content_type=content_type, token=token)
    except PayloadError as problem:
        return _reject(spec, text, content_type, token, str(problem), problem.status)
    except DataError as problem:
        # A value the database cannot hold (e.g. an over-long label): retrying cannot help.
        # Only the first line: the rest of a database's message may quote the statement.
        reason = str(problem).strip().partition("\n")[0]
        return _reject(spec, text, content_type, token, f"A value does not fit: {reason}", 422)
    except _UNAVAILABLE:
        logger.exception("ingest failed: database unavailable")
        return _unavailable(), _unsaved(spec, text, "database unavailable")
    except DatabaseError:
        # Anything else from the database is transient as far as the sender can tell.
        logger.exception("ingest failed")
        return _unavailable(), _unsaved(spec, text, "database error")
    return JsonResponse(result.as_json()), result.delivery


def _reject(
    spec: SourceSpec, text: str, content_type: str, token: ApiToken, error: str, status: int
) -> tuple[JsonResponse, Delivery]:
    try:
        delivery = delivery_reject(
            source=spec.source, body=text, error=error, content_type=content_type, token=token
        )
    except _UNAVAILABLE:
        logger.exception("could not log a rejected delivery: database unavailable")
        return _unavailable(), _unsaved(spec, text, "database unavailable")
    return _error(status, error), delivery


def _parse(content_type: str, body: bytes) -> object:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise PayloadError(
            f"Content-Type must be application/json, got {media_type or 'nothing'!r}.", status=415
        )
    try:
        payload = json_parse(body)
    except JsonTooDeep as problem:
        raise PayloadError(str(problem), status=400) from None
    except JsonBadText as problem:
        raise PayloadError(str(problem), status=422) from None
    except ValueError as problem:  # UnicodeDecodeError included
        raise PayloadError(f"The body is not valid JSON: {problem}.", status=400) from None
    if not isinstance(payload, dict):
        raise PayloadError("The body must be a JSON object.", status=400)
    return payload


def _check_params(request: HttpRequest) -> None:
    """Query parameters become labels (`?system=`): refuse what no database can store."""
    for name, values in request.GET.lists():
        problem = text_problem(name) or next(filter(None, map(text_problem, values)), None)
        if problem:
            raise PayloadError(f"The query parameter ?{printable(name)} {problem}.")


def _unsaved(spec: SourceSpec, text: str, error: str) -> Delivery:
    return Delivery(source=spec.source, body=text, outcome=Delivery.Outcome.REJECTED, error=error)
