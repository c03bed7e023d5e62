from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from alerts.models import AlertRule
from fleet_coverage.models import SLO
from fleet_coverage.slo.services import slo_delete, slo_rules_catalogue, slo_save
from runbooks.models import Runbook


def test_saving_an_slo_catalogues_its_page_and_ticket_alerts(
    make_slo: Callable[..., SLO],
) -> None:
    runbook = Runbook.objects.create(slug="fraud-availability", title="Fraud availability")
    slo = make_slo(layer="business", runbook=runbook)
    rules = {rule.severity: rule for rule in AlertRule.objects.all()}
    assert set(rules) == {"page", "ticket"}
    page = rules["page"]
    assert page.alertname == "FraudScorerAvailabilityBudgetBurnFast"
    assert page.matchers == {"slo": "availability"}
    assert page.owner_team_id == slo.owner_team_id
    assert page.system_id == slo.system_id
    assert page.runbook == runbook
    assert page.layer == "business"
    assert page.for_duration == timedelta(minutes=2)
    assert page.source == "prometheus"
    assert "slo:sli_error:ratio_rate1h" in page.expression
    assert rules["ticket"].for_duration is None


def test_catalogue_is_idempotent(make_slo: Callable[..., SLO]) -> None:
    slo = make_slo()
    before = {r.pk: r.updated_at for r in AlertRule.objects.all()}
    slo_rules_catalogue(slo=slo)
    slo_save(slo=slo)
    assert {r.pk: r.updated_at for r in AlertRule.objects.all()} == before


def test_changing_the_objective_updates_the_catalogued_expression(
    make_slo: Callable[..., SLO],
) -> None:
    slo = make_slo()
    slo_save(slo=slo, objective=Decimal("99.9"))
    page = AlertRule.objects.get(severity="page")
    assert "(14.4 * 0.001)" in page.expression
    assert AlertRule.objects.count() == 2


def test_catalogue_keeps_a_mute_set_by_people(make_slo: Callable[..., SLO]) -> None:
    slo = make_slo()
    AlertRule.objects.filter(severity="ticket").update(status="pruned")
    slo_save(slo=slo, objective=Decimal("99"))
    assert AlertRule.objects.get(severity="ticket").status == "pruned"


def test_renaming_retires_the_old_rules(make_slo: Callable[..., SLO]) -> None:
    slo = make_slo()
    slo_save(slo=slo, slug="uptime")
    statuses = dict(AlertRule.objects.values_list("alertname", "status"))
    assert statuses == {
        "FraudScorerAvailabilityBudgetBurnFast": "retired",
        "FraudScorerAvailabilityBudgetBurnSlow": "retired",
        "FraudScorerUptimeBudgetBurnFast": "active",
        "FraudScorerUptimeBudgetBurnSlow": "active",
    }


def test_deleting_retires_and_recreating_reactivates(make_slo: Callable[..., SLO]) -> None:
    slo_delete(slo=make_slo())
    assert set(AlertRule.objects.values_list("status", flat=True)) == {"retired"}
    make_slo()
    assert set(AlertRule.objects.values_list("status", flat=True)) == {"active"}
    assert AlertRule.objects.count() == 2
