from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unreachable_web_is_unhealthy(healthcheck: ModuleType) -> None:
    # Nothing listens on a free port.
    assert healthcheck.main(f"http://127.0.0.1:{free_port()}/readyz") == 1


def test_broker_check_passes_with_a_live_redis(
    healthcheck: ModuleType, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    assert healthcheck.main("broker") == 0
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert healthcheck.main("broker") == 1
