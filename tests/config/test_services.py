"""The PostgreSQL lane really talks to PostgreSQL and Redis (CI sets STEWARD_REQUIRE_SERVICES=1)."""

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tests.conftest import require_service


@pytest.mark.django_db
def test_database_vendor_matches_database_url() -> None:
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
    if settings.STEWARD_REQUIRE_SERVICES:
        assert connection.vendor == "postgresql", "the services lane must run on PostgreSQL"
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            assert "PostgreSQL" in cursor.fetchone()[0]


def test_redis_round_trip(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    key = f"steward-test-{uuid.uuid4()}"
    client.set(key, "ok", ex=30)
    assert client.get(key) == b"ok"
    client.delete(key)


def test_cache_uses_redis_when_configured() -> None:
    require_service(
        bool(settings.REDIS_URL) or not settings.STEWARD_REQUIRE_SERVICES,
        "REDIS_URL for the shared cache",
    )
    key = f"steward-cache-{uuid.uuid4()}"
    cache.set(key, 41, 30)
    assert cache.get(key) == 41
    if settings.REDIS_URL:
        from django.core.cache import caches

        assert type(caches["default"]).__name__ == "RedisCache"
