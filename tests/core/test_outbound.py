"""The outbound policy: where Steward may send a request to a URL a user set."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from pytest_django.fixtures import Settings

from core import outbound
from fleet.models import Team
from tests.support.webhook import WebhookServer, webhook_server


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    with webhook_server() as running:
        yield running


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "fe80::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "fd00:ec2::254",
        "100.64.0.1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",  # noqa: S104
        "240.0.0.1",
        "::ffff:127.0.0.1",
        "192.0.2.10",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    assert outbound.address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "151.101.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert outbound.address_refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_opens_its_range_only(settings: Settings) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["10.20.0.0/16"]
    assert outbound.address_refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert outbound.address_refusal(ipaddress.ip_address("10.21.3.4")) is not None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:8000/admin/", "loopback"),
        ("http://localhost:6379/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.0.0.5/hook", "private-network"),
        ("http://metadata.google.internal/computeMetadata/v1/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
    ],
)
def test_save_time_validation_names_the_reason(db: None, url: str, message: str) -> None:
    team = Team(slug="t", name="T", chat_webhook_url=url)
    with pytest.raises(ValidationError) as error:
        team.full_clean()
    text = error.value.message_dict["chat_webhook_url"][0]
    assert message in text
    assert "STEWARD_OUTBOUND_ALLOW_NETWORKS" in text


def test_save_time_validation_accepts_public_webhooks(db: None) -> None:
    Team(slug="t", name="T", chat_webhook_url="https://hooks.slack.com/services/T/B/X").full_clean()


def test_the_api_refuses_an_internal_webhook(client: Any, member: Any, team: Team) -> None:
    client.force_login(member)
    response = client.patch(
        f"/api/v1/teams/{team.slug}/",
        {"chat_webhook_url": "http://169.254.169.254/latest/meta-data/"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "link-local" in response.json()["error"]["fields"]["chat_webhook_url"][0]
    team.refresh_from_db()
    assert team.chat_webhook_url == ""


def test_a_local_server_is_refused_by_default(server: WebhookServer) -> None:
    with pytest.raises(outbound.OutboundRefused, match="loopback"):
        outbound.post_json(f"{server.url}/hook", {"text": "hi"})
    assert server.received == []


def test_a_local_server_is_reached_when_its_network_is_allowed(
    server: WebhookServer, settings: Settings
) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    response = outbound.post_json(f"{server.url}/hook?x=1", {"text": "hi"})
    assert response.ok
    assert [(r.method, r.path, r.body) for r in server.received] == [
        ("POST", "/hook?x=1", {"text": "hi"})
    ]


def test_a_redirect_to_loopback_is_not_followed(server: WebhookServer, settings: Settings) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    with webhook_server() as inside:
        server.behaviour.status = 302
        server.behaviour.location = f"{inside.url}/internal"
        response = outbound.post_json(f"{server.url}/hook", {"text": "hi"})
        assert inside.received == []
    assert response.status == 302
    assert not response.ok


def test_the_answer_is_read_up_to_the_bound(server: WebhookServer, settings: Settings) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    server.behaviour.body = b"x" * (outbound.MAX_RESPONSE_BYTES * 4)
    response = outbound.post_json(f"{server.url}/hook", {"text": "hi"})
    assert len(response.body) == outbound.MAX_RESPONSE_BYTES


def _hosts(monkeypatch: pytest.MonkeyPatch, mapping: dict[str, list[str]]) -> None:
    """A hosts file for this test: names in `mapping` resolve to its addresses."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in mapping:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in mapping[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hosts(monkeypatch, {"chat.example.test": ["10.0.0.5"]})
    outbound.url_check("https://chat.example.test/hook")  # a name passes at save time
    with pytest.raises(outbound.OutboundRefused, match="private-network"):
        outbound.post_json("https://chat.example.test/hook", {"text": "hi"})


def test_one_internal_record_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hosts(monkeypatch, {"chat.example.test": ["151.101.1.1", "169.254.169.254"]})
    with pytest.raises(outbound.OutboundRefused, match="link-local"):
        outbound.post_json("https://chat.example.test/hook", {"text": "hi"})


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    server: WebhookServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    _hosts(monkeypatch, {"chat.example.test": ["127.0.0.1"]})
    port = server.server_address[1]
    assert outbound.post_json(f"http://chat.example.test:{port}/hook", {"text": "hi"}).ok
    assert server.received[0].headers["Host"] == f"chat.example.test:{port}"


def test_tls_is_verified_against_the_name_not_the_pinned_address(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.support.tls import https_prometheus

    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    with https_prometheus(tmp_path, 19231) as (url, cert):
        with pytest.raises(outbound.OutboundFailed):  # self-signed, not trusted
            outbound.post_json(f"{url}/hook", {"text": "hi"})
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert outbound.post_json(f"{url}/hook", {"text": "hi"}).status == 404
        # Same address, another name: the certificate (for 127.0.0.1) does not match it.
        _hosts(monkeypatch, {"chat.example.test": ["127.0.0.1"]})
        with pytest.raises(outbound.OutboundFailed):
            outbound.post_json("https://chat.example.test:19231/hook", {"text": "hi"})
