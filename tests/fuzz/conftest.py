"""A small fleet to aim at, and a clean slate for every example.

Hypothesis runs many examples inside one test (one pytest-django transaction): `fresh()` wraps
each example in a savepoint rolled back at its end, so an example sees no row a previous one
stored and "nothing half-stored" can be checked by counting rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction

from alerts.models import AlertRule
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from tokens.models import ApiToken
from tokens.services import token_create


class Tokens(dict[str, str]):
    """Raw tokens by scope; Hypothesis prints a failing example's fixtures, never the secrets."""

    def __repr__(self) -> str:
        return f"Tokens({', '.join(self)})"


@contextmanager
def fresh() -> Iterator[None]:
    cache.clear()  # cached ownership answers would outlive the rolled-back rows
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def world(team: Team, member: User, make_user: Callable[..., User]) -> dict[str, Any]:
    """Two teams with a rule each, a member, staff, and a token of every scope."""
    other = Team.objects.create(slug="recsys", name="Recsys")
    staff = make_user("fuzz-staff", staff=True)
    outsider = make_user("outsider")
    Membership.objects.create(team=other, user=outsider, role=Membership.Role.MEMBER)
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    runbook = Runbook.objects.create(slug="latency", title="Latency", owner_team=team)
    rule = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        owner_team=team,
        system=system,
        runbook=runbook,
        matchers={"model": "fraud-scorer"},
    )
    AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=other, matchers={})
    tokens = Tokens(
        (str(scope), token_create(name=f"fuzz {scope}", scope=scope, created_by=staff)[1])
        for scope in (ApiToken.Scope.READ, ApiToken.Scope.WRITE, ApiToken.Scope.INGEST)
    )
    return {
        "team": team,
        "other": other,
        "member": member,
        "staff": staff,
        "outsider": outsider,
        "system": system,
        "runbook": runbook,
        "rule": rule,
        "tokens": tokens,
    }
