"""One error body for the whole API: `{"error": {"code", "message", "fields"}}`.

DRF's own exceptions (401, 403, 404, 405, 415, validation…), Django's Http404 and
PermissionDenied, unexpected exceptions under /api/ and unknown /api/ URLs all answer in this
shape, so a client needs one parser. DRF views go through `api_exception_handler`; everything
else under /api/ through the handlers of `config.error_pages`, which ask `is_api_request`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.database import RETRY_AFTER_SECONDS, is_database_unavailable

logger = logging.getLogger(__name__)


API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    """Whether an error on this request answers the JSON body instead of an HTML page.

    The one test every error handler uses: the path, not the Accept header, so that a browser
    opening an API URL sees what a client would.
    """
    return request.path.startswith(API_PREFIX)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def database_unavailable_body() -> dict[str, Any]:
    return error_body("database_unavailable", "The database is unavailable; retry later.")


def _flatten(detail: Any) -> Any:
    """ErrorDetail trees → plain lists of strings (nested serializers keep their nesting)."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _from_django(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A model's full_clean() raised in a service: the same 400 as a serializer's, with
    Django's `__all__` key under DRF's `non_field_errors`."""
    detail = get_error_detail(exc)
    if isinstance(detail, dict) and NON_FIELD_ERRORS in detail:
        detail["non_field_errors"] = detail.pop(NON_FIELD_ERRORS)
    return exceptions.ValidationError(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    if is_database_unavailable(exc):
        # Transient: a 503 the client retries, and one log line (no traceback per request).
        logger.warning("API request refused: database unavailable (%s)", type(exc).__name__)
        refused = Response(database_unavailable_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
        refused["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return refused
    response = exception_handler(exc, context)
    if response is None:
        # Not an API exception: log it and answer a JSON 500 instead of Django's HTML page.
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "Internal server error."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            non_field = fields.pop("non_field_errors", None)
            message = "; ".join(non_field) if non_field else "Invalid input."
            if non_field:
                fields["non_field_errors"] = non_field
        else:
            fields = {}
            message = "; ".join(_flatten(detail)) if isinstance(detail, list) else str(detail)
        response.data = error_body("invalid", message, fields)
        return response
    if isinstance(exc, Http404):
        code, message = "not_found", "Not found."
    elif isinstance(exc, DjangoPermissionDenied):
        code, message = "permission_denied", str(exc) or "Permission denied."
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        raw = getattr(exc, "detail", None)
        message = str(raw) if raw is not None else str(exc) or code
    response.data = error_body(str(code), message)
    return response
