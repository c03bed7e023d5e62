"""Every page, with hostile path and query parameters: never a 5xx.

The pages are read from the URL configuration itself (a new page is fuzzed without being
listed here); the API under /api/ is schemathesis's (tests/config/test_api_schema.py) and the
admin is Django's. Each path parameter gets a value that exists (so the query parameters reach
a real page) or a hostile one of its converter's shape; the query string mixes every parameter
a page reads with any other name, all with hostile values.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import fresh
from tests.fuzz.strategies import HOSTILE_NUMBERS, budget, hostile_text, query

SKIPPED_PREFIXES = ("admin/", "api/")
# Every name a page reads from its query string (grep request.GET), plus ones none reads.
PARAMETERS = [
    "team", "page", "decide", "at", "layer", "severity", "status", "flag", "uncatalogued",
    "firing", "kind", "tier", "lifecycle", "environment", "q", "incomplete", "stale", "a", "b",
    "alertname", "model", "env", "week", "next", "format",
]  # fmt: skip
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    routes: list[str] = []
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # the regex routes: DRF's router (API) and the moved-admin redirects
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            routes.extend(_routes(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


def _path_value(converter: str, world: dict[str, Any]) -> st.SearchStrategy[str]:
    hostile_ints = st.sampled_from([str(n) for n in HOSTILE_NUMBERS if isinstance(n, int)])
    existing: dict[str, list[str]] = {
        "int": [str(world["rule"].pk)],
        "slug": [world["system"].slug, world["runbook"].slug, world["team"].slug],
        "week": ["2026-W47"],
        "str": ["ModelLatencyHigh"],
    }
    shaped: dict[str, st.SearchStrategy[str]] = {
        "int": st.one_of(hostile_ints, st.integers(min_value=0).map(str)),
        "slug": st.from_regex(r"\A[-a-zA-Z0-9_]{1,300}\Z"),
        "week": st.one_of(
            st.sampled_from(["9999-W52", "0001-W01", "0000-W01", "2026-W00", "2026-W99"]),
            st.from_regex(r"\A[0-9]{4}-W[0-9]{2}\Z"),
        ),
        "str": hostile_text().filter(lambda text: "/" not in text and text),
    }
    return st.one_of(st.sampled_from(existing[converter]), shaped[converter])


def _path(route: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        value = values[match.group("name")]
        return query({"": value})[1:]  # percent-encoded as a client would

    return "/" + _PARAMETER.sub(fill, route)


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=budget(10))
@given(data=st.data())
def test_pages_never_answer_5xx(route: str, world: dict[str, Any], data: st.DataObject) -> None:
    values = {
        match.group("name"): data.draw(
            _path_value(match.group("converter") or "str", world), label=match.group("name")
        )
        for match in _PARAMETER.finditer(route)
    }
    params = data.draw(
        st.dictionaries(
            st.one_of(st.sampled_from(PARAMETERS), hostile_text()), hostile_text(), max_size=4
        ),
        label="query",
    )
    client = Client()
    client.force_login(data.draw(st.sampled_from([world["member"], world["staff"]]), "user"))
    url = f"{_path(route, values)}?{query(params)}"
    with fresh():
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)


def test_every_page_is_fuzzed() -> None:
    """The control: the URL walk finds the pages (a broken walk would fuzz nothing)."""
    for route in ["alerts/<int:pk>/", "review/<week:week>/", "runbooks/for/<str:alertname>/", ""]:
        assert route in ROUTES, ROUTES


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\ud800"])
def test_every_query_parameter_with_nul_or_a_surrogate(
    route: str, value: str, world: dict[str, Any]
) -> None:
    """Finding 8's `%00` in any query parameter, always tried on every page (Hypothesis draws it
    only now and then): on PostgreSQL a NUL reaching a query is an error of the database."""
    existing = {"int": str(world["rule"].pk), "slug": world["team"].slug, "week": "2026-W47"}
    values = {
        match.group("name"): existing.get(match.group("converter") or "str", "ModelLatencyHigh")
        for match in _PARAMETER.finditer(route)
    }
    client = Client()
    client.force_login(world["member"])
    url = f"{_path(route, values)}?{query(dict.fromkeys(PARAMETERS, value))}"
    response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
