"""A view that loses the database answers 503 with Retry-After (the process_exception path of
`DatabaseUnavailableMiddleware`; tests/faults/test_database_down.py covers the others with a
real unreachable PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBase
from django.test import RequestFactory

from config.middleware import DatabaseUnavailableMiddleware


def _refused(path: str, error: Exception) -> HttpResponse:
    response: HttpResponseBase | None = _middleware().process_exception(
        RequestFactory().get(path), error
    )
    assert isinstance(response, HttpResponse)
    return response


def _middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: HttpResponse("ok"))


@pytest.mark.parametrize(
    "error", [OperationalError("connection refused"), InterfaceError("closed")]
)
def test_a_page_whose_view_loses_the_database_answers_the_503_page(error: Exception) -> None:
    response = _refused("/alerts/", error)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Error 503" in response.content


def test_an_api_view_that_loses_the_database_answers_the_json_body() -> None:
    response = _refused("/api/v1/episodes/", OperationalError("gone"))
    assert response.status_code == 503
    assert json.loads(response.content)["error"]["code"] == "database_unavailable"


def test_other_errors_are_left_to_the_500_handler() -> None:
    request = RequestFactory().get("/alerts/")
    assert _middleware().process_exception(request, ValueError("bug")) is None
