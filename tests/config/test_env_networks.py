from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_networks


def test_networks_are_read_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETS", "10.0.0.0/8, 192.168.1.7 ,fd00::/8")
    assert env_networks("NETS") == ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]


def test_a_bad_network_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETS", "10.0.0.0/8,intranet")
    with pytest.raises(ImproperlyConfigured, match="'intranet' is not an IP network"):
        env_networks("NETS")


def test_unset_means_no_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETS", raising=False)
    assert env_networks("NETS") == []
