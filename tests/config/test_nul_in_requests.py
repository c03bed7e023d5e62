"""A NUL character in a page's query string or form (issue 17, finding 8): PostgreSQL refuses
NUL in text, so a page that filtered on it answered 500. Every page now answers 400 saying
why, before any view runs; the API keeps its JSON 400 (api.permissions)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

PAGES = ["/alerts/", "/review/", "/review/effect/", "/fleet/", "/runbooks/", "/"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("query", ["team=a%00b", "q=%00", "x%00=1"])
def test_nul_in_a_page_query_is_400(client: Client, member: User, page: str, query: str) -> None:
    client.force_login(member)
    response = client.get(f"{page}?{query}")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_nul_in_a_page_form_is_400(client: Client, member: User) -> None:
    client.force_login(member)
    response = client.post("/review/effect/", {"team": "a\x00b"})
    assert response.status_code == 400


def test_the_api_keeps_its_json_400(client: Client, member: User) -> None:
    client.force_login(member)
    response = client.get("/api/v1/teams/?slug=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]


def test_pages_without_nul_are_untouched(client: Client, member: User) -> None:
    client.force_login(member)
    assert client.get("/alerts/?q=model").status_code == 200
