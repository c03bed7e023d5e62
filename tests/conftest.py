"""Shared fixtures.

Tests that need a real service (PostgreSQL, Redis, a Celery worker, Prometheus, a browser) use
`require_service`: on a developer laptop without the service they skip, but under
STEWARD_REQUIRE_SERVICES=1 (CI's PostgreSQL lane) they fail, so a green CI means they ran.
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from fleet.models import Membership, Team
from tests.support.clock import NOW

# Everything the configured console handler (LOGGING, with its secret-redacting filter) writes
# during the whole run; `pytest_sessionfinish` fails the run if a test secret is in it.
_SUITE_LOG = io.StringIO()
# A whole API token (the public prefix is stw_ plus six characters), the test users' password,
# and the secret markers the log tests put into webhook URLs and query strings.
_LEAKED_SECRET = re.compile(r"stw_[A-Za-z0-9_-]{7,}|pw-for-tests|[A-Za-z]*TESTSECRET[A-Za-z0-9]*")


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _console_handler() -> logging.StreamHandler[io.TextIOBase]:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.name == "console":
            return handler
    raise LookupError("LOGGING's console handler is not installed on the root logger")


def pytest_sessionstart(session: pytest.Session) -> None:
    handler = _console_handler()
    handler.setStream(_Tee(handler.stream, _SUITE_LOG))  # type: ignore[arg-type]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = sorted(set(_LEAKED_SECRET.findall(_SUITE_LOG.getvalue())))
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nSecrets written to the log during the suite: {leaks}")  # noqa: T201


@pytest.fixture
def console_log() -> Iterator[io.StringIO]:
    """What LOGGING's console handler writes (after its filters), at DEBUG, during the test."""
    handler = _console_handler()
    root = logging.getLogger()
    captured = io.StringIO()
    previous_stream, previous_level = handler.stream, root.level
    handler.setStream(_Tee(previous_stream, captured))  # type: ignore[arg-type]
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.setLevel(previous_level)
        handler.setStream(previous_stream)


# Property-based tests (tests/fuzz/, schemathesis) draw the same examples on every run, so a red
# CI run fails again on a laptop. "ci" keeps Hypothesis's 100 examples as the unit that the fuzz
# suite's budgets scale from (tests/fuzz/strategies.py `budget`); "deep" hunts 20 times wider and
# at random: `HYPOTHESIS_PROFILE=deep pytest tests/fuzz`.
_FUZZ_HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
]
hypothesis_settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_FUZZ_HEALTH,
)
hypothesis_settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=_FUZZ_HEALTH
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REDIS_TEST_URL = os.environ.get("STEWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(available: bool, what: str) -> None:
    if available:
        return
    if settings.STEWARD_REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (STEWARD_REQUIRE_SERVICES=1) but not available.")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:  # pytest-django's, wrapped
    """pytest-django's test database, and at the end of the run a check that no test left a
    session open on it (a thread's or a server's connection never closed): PostgreSQL then
    refuses to drop it ("is being accessed by other users") and the next run starts dirty.
    Subprocesses' backends get a few seconds to end; what stays is named and terminated."""
    yield
    with django_db_blocker.unblock():
        left = _sessions_left_on_the_test_database()
    if left:
        pytest.fail(
            "Sessions left open on the test database (terminated now): "
            + "; ".join(
                f"pid {pid} {app!r} since {start:%H:%M:%S}: {query}"
                for pid, app, start, query in left
            ),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _sessions_left_by_this_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """With STEWARD_TEST_SESSION_CHECK=each, the end-of-run check after every test that used
    the database, to find which one leaves a session (bisection in one run)."""
    yield
    if os.environ.get("STEWARD_TEST_SESSION_CHECK") != "each":
        return
    if not {"_django_db_helper", "db", "transactional_db"} & set(request.fixturenames):
        return
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        left = _sessions_left_on_the_test_database(grace_seconds=2.0)
    if left:
        pytest.fail(f"{request.node.nodeid} left sessions open on the test database: {left}")


def _sessions_left_on_the_test_database(grace_seconds: float = 5.0) -> list[tuple[Any, ...]]:
    if connection.vendor != "postgresql":
        return []
    sql = (
        "SELECT pid, application_name, backend_start, left(query, 200) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + grace_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql)
            left = cursor.fetchall()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pid, *_ in left:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.close()
    return left


@pytest.fixture
def require_postgres() -> None:
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
        available = True
    except redis.RedisError:
        available = False
    require_service(available, f"Redis at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    """The clock starts at tests.support.clock.NOW (and ticks) for the in-process code under test:
    views, tasks and models that call timezone.now() themselves. Not for real services in other
    processes (Prometheus, Alertmanager, Celery workers), which keep the real time."""
    with time_machine.travel(NOW, tick=True):
        yield NOW


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str = "alice", *, staff: bool = False, **extra: object) -> User:
        return User.objects.create_user(
            username=username, password="pw-for-tests", is_staff=staff, **extra
        )

    return make


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(slug="fraud-ml", name="Fraud ML", timezone="Europe/Berlin")


@pytest.fixture
def member(make_user: Callable[..., User], team: Team) -> User:
    user = make_user("member")
    Membership.objects.create(team=team, user=user, role=Membership.Role.LEAD)
    return user


@pytest.fixture(autouse=True)
def _forget_process_memory() -> Iterator[None]:
    """What a process remembers between requests (webhook tokens, rules and systems, queued
    evaluations) must not carry from one test's database and Redis to the next."""
    from alerts import receivers
    from alerts.automation.services import flags_forget
    from alerts.ingest.catalog_cache import catalog_forget
    from tokens import auth_cache

    receivers._queued_until.clear()
    auth_cache._local.clear()
    catalog_forget()
    flags_forget()
    yield
    receivers._queued_until.clear()
    auth_cache._local.clear()
    catalog_forget()
    flags_forget()
