from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Cached ownership answers must not leak between tests (the database rolls back)."""
    cache.clear()
    yield
    cache.clear()
