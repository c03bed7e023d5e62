from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fleet.models import Team
from tokens.models import ApiToken
from tokens.services import token_authenticate, token_hash


def test_create_token_prints_the_plain_token_alone_on_the_last_line(team: Team) -> None:
    out = StringIO()
    call_command(
        "create_token",
        "--name",
        "alertmanager-prod",
        "--scope",
        "ingest",
        "--team",
        team.slug,
        "--integration",
        "am-prod",
        stdout=out,
        stderr=StringIO(),
    )
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token_hash(raw) == token.token_hash
    assert raw not in (token.token_hash, token.prefix)
    assert token.scope == "ingest" and token.team == team
    assert token.integration is not None and token.integration.name == "am-prod"
    assert token_authenticate(raw) == token


def test_create_token_rejects_an_unknown_team(db: None) -> None:
    with pytest.raises(CommandError, match="No team"):
        call_command("create_token", "--name", "x", "--scope", "read", "--team", "nope")


def test_create_token_rejects_an_unknown_scope(db: None) -> None:
    with pytest.raises(CommandError):
        call_command("create_token", "--name", "x", "--scope", "admin")
