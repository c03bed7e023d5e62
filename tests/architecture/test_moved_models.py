"""Models that changed app in the layout (tokens from alerts, SLOs and scorecards from fleet)
keep their rows, their tables and their permissions: the migrations move Django's state only.

The database is migrated back to before the move, rows are written through the historical
models, then it is migrated forward and the rows are read through the new apps' models.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from fleet_coverage.models import SLO, ScorecardSnapshot
from tokens.models import ApiToken, Integration

BEFORE = [
    ("alerts", "0006_review_unique_scope"),
    ("fleet", "0002_slo_slo_scorecards"),
    ("runbooks", "0001_initial"),
    ("contenttypes", "0002_remove_content_type_name"),
]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_tables_and_content_types_survive_the_move() -> None:
    if connection.vendor == "postgresql":
        # alerts.0011 partitions episodes and deliveries on PostgreSQL and cannot be reversed
        # there; the move itself (state-only migrations) is proven on SQLite.
        pytest.skip("cannot migrate back past alerts.0011 (partitioning) on PostgreSQL")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE).loader.project_state(BEFORE).apps
    team = old.get_model("fleet", "Team").objects.create(slug="ml", name="ML")
    system = old.get_model("fleet", "AISystem").objects.create(
        slug="scorer", name="Scorer", owner_team=team
    )
    integration = old.get_model("alerts", "Integration").objects.create(
        name="am", source="prometheus"
    )
    old.get_model("alerts", "ApiToken").objects.create(
        name="ci",
        scope="read",
        team=team,
        integration=integration,
        token_hash="h" * 64,
        prefix="stw_abc",
    )
    old.get_model("fleet", "SLO").objects.create(
        system=system,
        name="Availability",
        slug="availability",
        objective=Decimal("99.5"),
        ratio_query="up",
    )
    old.get_model("fleet", "ScorecardSnapshot").objects.create(
        system=system, week="2026-W40", score=70
    )
    content_types = old.get_model("contenttypes", "ContentType")
    for app_label, model in [("alerts", "apitoken"), ("fleet", "slo")]:
        content_types.objects.get_or_create(app_label=app_label, model=model)

    _migrate(latest)

    token = ApiToken.objects.get()
    assert (token.name, token.prefix, token.team_id, token.integration_id) == (
        "ci",
        "stw_abc",
        team.pk,
        integration.pk,
    )
    assert Integration.objects.get().name == "am"
    assert SLO.objects.get().slug == "availability"
    assert ScorecardSnapshot.objects.get().score == 70
    tables = set(connection.introspection.table_names())
    assert {
        "alerts_apitoken",
        "alerts_integration",
        "fleet_slo",
        "fleet_scorecardsnapshot",
    } <= tables
    labels = set(ContentType.objects.values_list("app_label", "model"))
    assert {("tokens", "apitoken"), ("coverage", "slo")} <= labels
    assert not {("alerts", "apitoken"), ("fleet", "slo")} & labels
