"""API exceptions of the parsing budgets (core.limits), answered in the one error body of
api.errors. Kept apart from api.errors, which imports DRF's views: the parsers that raise
these are loaded by DRF's settings while those views are being imported."""

from __future__ import annotations

from rest_framework import exceptions, status


class LimitExceeded(exceptions.APIException):
    """A request beyond a parsing budget of `core.limits` (nesting, aliases, rules); the
    message names the limit."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "limit_exceeded"


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
