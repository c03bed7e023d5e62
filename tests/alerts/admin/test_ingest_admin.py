from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from alerts.models import Delivery
from tokens import admin as token_admin
from tokens.models import ApiToken
from tokens.services import token_authenticate, token_create


def _admin(make_user: Callable[..., User], client: Client) -> Client:
    user = make_user("root", staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_create_shows_the_plain_token_once_and_never_the_hash(
    make_user: Callable[..., User], client: Client
) -> None:
    client = _admin(make_user, client)
    response = client.post(
        "/admin/tokens/apitoken/add/", {"name": "grafana", "scope": "ingest"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m for m in shown if "only this once" in m).rsplit(" ", 1)[-1]
    assert token_authenticate(raw) == token
    page = client.get(f"/admin/tokens/apitoken/{token.pk}/change/").content.decode()
    assert token.token_hash not in page
    assert raw not in page


def test_admin_revoke_action(make_user: Callable[..., User], client: Client) -> None:
    client = _admin(make_user, client)
    token, raw = token_create(name="old", scope="ingest")
    client.post(
        "/admin/tokens/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_authenticate(raw) is None


def test_admin_lists_are_read_only_and_filterable(
    make_user: Callable[..., User], client: Client, django_assert_max_num_queries: Any
) -> None:
    client = _admin(make_user, client)
    Delivery.objects.create(source="prometheus", outcome="rejected", error="bad")
    with django_assert_max_num_queries(12):
        response = client.get("/admin/alerts/delivery/?source=prometheus&outcome=rejected")
    assert response.status_code == 200
    assert b"prometheus" in response.content
    assert client.get("/admin/alerts/delivery/add/").status_code == 403
    assert client.get("/admin/alerts/episode/").status_code == 200
    assert client.get("/admin/tokens/integration/").status_code == 200


def test_token_revoked_in_the_admin_is_refused_at_once_on_the_cached_endpoint(
    make_user: Callable[..., User], client: Client
) -> None:
    """The ownership endpoint caches tokens for seconds; the admin's revoke must clear it."""
    admin_client = _admin(make_user, client)
    token, raw = token_create(name="router", scope="read")
    router = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert router.get("/api/v1/ownership/?alertname=Any").status_code == 200  # now cached
    admin_client.post(
        "/admin/tokens/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert router.get("/api/v1/ownership/?alertname=Any").status_code == 401


def test_admin_creates_tokens_through_the_token_service(
    make_user: Callable[..., User], client: Client, monkeypatch: Any
) -> None:
    created: list[str] = []
    real = token_admin.token_create

    def spy(**kwargs: Any) -> tuple[ApiToken, str]:
        created.append(kwargs["name"])
        return real(**kwargs)

    monkeypatch.setattr(token_admin, "token_create", spy)
    _admin(make_user, client).post(
        "/admin/tokens/apitoken/add/", {"name": "grafana", "scope": "ingest"}
    )
    assert created == ["grafana"]
    assert ApiToken.objects.get().created_by is not None
