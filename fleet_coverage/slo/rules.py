"""Multi-window, multi-burn-rate rules for SLOs (Google SRE workbook, "Alerting on SLOs").

For each SLO we emit one recording rule per window (the error ratio) and two alerts:

| severity | long window | short window | budget consumed | burn rate (30 d) |
|---|---|---|---|---|
| page   | 1h | 5m  | 2 %  | 14.4 |
| page   | 6h | 30m | 5 %  | 6    |
| ticket | 1d | 2h  | 10 % | 3    |
| ticket | 3d | 6h  | 10 % | 1    |

The burn rate is `fraction × SLO window / long window`, so a 28-day SLO alerts after the same
share of its budget is gone (13.44, 5.6, 2.8, 0.933…).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import yaml
from django.conf import settings

from core.choices import Severity
from fleet_coverage.models import SLO, WINDOW_PLACEHOLDER


@dataclass(frozen=True)
class BurnWindow:
    severity: str
    long: str
    short: str
    budget_fraction: Decimal


PAGE: str = Severity.PAGE.value
TICKET: str = Severity.TICKET.value
WORKBOOK_WINDOWS = (
    BurnWindow(PAGE, "1h", "5m", Decimal("0.02")),
    BurnWindow(PAGE, "6h", "30m", Decimal("0.05")),
    BurnWindow(TICKET, "1d", "2h", Decimal("0.10")),
    BurnWindow(TICKET, "3d", "6h", Decimal("0.10")),
)
# Every window a recording rule is needed for, shortest first.
RECORDED_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
_HOURS: dict[str, Decimal] = {
    "5m": Decimal(5) / 60,
    "30m": Decimal("0.5"),
    "1h": Decimal(1),
    "2h": Decimal(2),
    "6h": Decimal(6),
    "1d": Decimal(24),
    "3d": Decimal(72),
}
PAGE_FOR = "2m"
ALERT_SUFFIX: dict[str, str] = {PAGE: "BudgetBurnFast", TICKET: "BudgetBurnSlow"}


def burn_rate(*, fraction: Decimal, window_days: int, long_window: str) -> Decimal:
    """Budget fraction × SLO window / long window, e.g. 0.02 × 720h / 1h = 14.4."""
    return fraction * window_days * 24 / _HOURS[long_window]


def format_number(value: Decimal) -> str:
    """A PromQL literal without exponent or needless digits (0.9333333 for 14/15)."""
    return f"{value.quantize(Decimal('0.0000001')).normalize():f}"


def record_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _camel(slug: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in slug.replace("_", "-").split("-"))


def alertname_for(slo: SLO, severity: str) -> str:
    """FraudScorerAvailabilityBudgetBurnFast: unique per system and SLO, a valid label value."""
    name = f"{_camel(slo.system.slug)}{_camel(slo.slug)}{ALERT_SUFFIX[severity]}"
    return name if name[:1].isalpha() else f"Slo{name}"


def runbook_url_for(slo: SLO, alertname: str) -> str:
    query = urlencode({"slo": slo.slug, "system": slo.system.slug})
    return f"{settings.STEWARD_BASE_URL}/runbooks/for/{alertname}/?{query}"


def _selector(slo: SLO) -> str:
    return f'{{slo="{slo.slug}",system="{slo.system.slug}"}}'


def error_ratio_expr(slo: SLO, window: str) -> str:
    if slo.ratio_query.strip():
        ratio = slo.ratio_query.strip().replace(WINDOW_PLACEHOLDER, window)
        return f"1 - (\n  {ratio}\n)"
    good = slo.good_query.strip().replace(WINDOW_PLACEHOLDER, window)
    total = slo.total_query.strip().replace(WINDOW_PLACEHOLDER, window)
    return f"1 - (\n  ({good})\n/\n  ({total})\n)"


def _condition(slo: SLO, burn: BurnWindow) -> str:
    rate = format_number(
        burn_rate(fraction=burn.budget_fraction, window_days=slo.window_days, long_window=burn.long)
    )
    budget = format_number(slo.error_budget)
    selector = _selector(slo)
    return (
        f"(\n  {record_name(burn.long)}{selector} > ({rate} * {budget})\n"
        f"and\n  {record_name(burn.short)}{selector} > ({rate} * {budget})\n)"
    )


def alert_expr(slo: SLO, severity: str) -> str:
    return "\nor\n".join(_condition(slo, b) for b in WORKBOOK_WINDOWS if b.severity == severity)


def _alert_labels(slo: SLO, severity: str) -> dict[str, str]:
    labels = {"severity": severity, "layer": str(slo.layer), "slo": slo.slug}
    labels["system"] = slo.system.slug
    if slo.owner_team is not None:
        labels["team"] = slo.owner_team.slug
    return labels


def _summary(slo: SLO, severity: str) -> str:
    speed = "fast" if severity == PAGE else "slowly"
    return f"{slo.system.name}: {slo.name} is burning its error budget {speed}"


def alert_rules(slo: SLO) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for severity in (PAGE, TICKET):
        alertname = alertname_for(slo, severity)
        rule: dict[str, Any] = {"alert": alertname, "expr": alert_expr(slo, severity)}
        if severity == PAGE:
            rule["for"] = PAGE_FOR
        rule["labels"] = _alert_labels(slo, severity)
        rule["annotations"] = {
            "summary": _summary(slo, severity),
            "description": (
                f"{slo.name} of {slo.system.name} targets {format_number(slo.objective)}% "
                f"over {slo.window_days} days; at the current error rate "
                + (
                    "the budget is gone within days."
                    if severity == PAGE
                    else "the budget runs out before the window ends."
                )
            ),
            "runbook_url": runbook_url_for(slo, alertname),
        }
        rules.append(rule)
    return rules


def recording_rules(slo: SLO) -> list[dict[str, Any]]:
    return [
        {
            "record": record_name(window),
            "expr": error_ratio_expr(slo, window),
            "labels": {"slo": slo.slug, "system": slo.system.slug},
        }
        for window in RECORDED_WINDOWS
    ]


def slo_rule_group(slo: SLO) -> dict[str, Any]:
    """One group per SLO: Prometheus evaluates a group's rules in order, so the recording
    rules are fresh when the alerts read them."""
    return {
        "name": f"slo:{slo.system.slug}:{slo.slug}",
        "rules": [*recording_rules(slo), *alert_rules(slo)],
    }


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line expressions as `|` blocks, as people write them by hand; no YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def rule_file_yaml(slos: list[SLO]) -> str:
    """A Prometheus rule file (`groups:`) for these SLOs."""
    document = {"groups": [slo_rule_group(slo) for slo in slos]}
    header = "# Generated by Steward from its SLO catalog; edit the SLOs, not this file.\n"
    return header + yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=1000)
