"""Writes for SLOs: save (validated) and keep the generated alerts in the catalog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction

from alerts.models import AlertRule
from core.choices import Source
from fleet_coverage.models import SLO
from fleet_coverage.slo.rules import PAGE, PAGE_FOR, TICKET, alert_rules, alertname_for

_FOR = {PAGE_FOR: timedelta(minutes=2)}
# The catalog fields Steward owns on a generated rule; anything else (status, mute) stays as
# people set it.
_MANAGED_FIELDS = (
    "severity",
    "layer",
    "owner_team_id",
    "system_id",
    "runbook_id",
    "source",
    "expression",
    "for_duration",
    "summary",
    "labels",
    "catalogued",
)


def slo_rules_catalogue(*, slo: SLO) -> list[AlertRule]:
    """Upsert the SLO's burn-rate alerts into the catalog (matchers {"slo": <slug>}).

    Idempotent: a rule whose managed fields already match is not written again.
    """
    rules = []
    for spec in alert_rules(slo):
        wanted: dict[str, Any] = {
            "severity": spec["labels"]["severity"],
            "layer": slo.layer,
            "owner_team_id": slo.owner_team_id,
            "system_id": slo.system_id,
            "runbook_id": slo.runbook_id,
            "source": Source.PROMETHEUS,
            "expression": spec["expr"],
            "for_duration": _FOR.get(spec.get("for", "")),
            "summary": spec["annotations"]["summary"],
            "labels": spec["labels"],
            "catalogued": True,
        }
        rule, created = AlertRule.objects.get_or_create(
            alertname=spec["alert"],
            matchers_key=f"slo={slo.slug}",
            defaults={"matchers": {"slo": slo.slug}, **wanted},
        )
        changed = [f for f in _MANAGED_FIELDS if getattr(rule, f) != wanted[f]]
        if rule.status == AlertRule.Status.RETIRED:
            rule.status = AlertRule.Status.ACTIVE
            changed.append("status")
        if changed and not created:
            for field in changed:
                setattr(rule, field, wanted.get(field, getattr(rule, field)))
            rule.save()
        rules.append(rule)
    return rules


def _retire(alertnames: list[str], slug: str) -> None:
    AlertRule.objects.filter(alertname__in=alertnames, matchers_key=f"slo={slug}").exclude(
        status=AlertRule.Status.RETIRED
    ).update(status=AlertRule.Status.RETIRED)


def _generated_names(slo: SLO) -> list[str]:
    return [alertname_for(slo, severity) for severity in (PAGE, TICKET)]


@transaction.atomic
def slo_save(*, slo: SLO, **changes: Any) -> SLO:
    """Validate and save an SLO, then catalogue its alerts.

    Renaming the SLO or moving it to another system retires the rules of its old name.
    """
    previous = SLO.objects.select_related("system").filter(pk=slo.pk).first() if slo.pk else None
    for field, value in changes.items():
        setattr(slo, field, value)
    slo.full_clean()
    slo.save()
    if previous is not None:
        old_names = _generated_names(previous)
        if old_names != _generated_names(slo) or previous.slug != slo.slug:
            _retire(old_names, previous.slug)
    slo_rules_catalogue(slo=slo)
    return slo


@transaction.atomic
def slo_delete(*, slo: SLO) -> None:
    """Delete an SLO; its generated alerts stay in the catalog as retired (history keeps them)."""
    _retire(_generated_names(slo), slo.slug)
    slo.delete()
