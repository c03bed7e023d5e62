"""Seed a believable demo fleet, idempotently: a second run creates nothing and changes nothing.

The data lives in demo/data.py and demo/runbooks.py; this module only writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction

from alerts.catalog.rulefiles import parse_duration
from alerts.models import AlertRule, matchers_key
from core.choices import Source
from demo import data as demo_data
from demo.automation import demo_automation_seed
from demo.history import HistorySummary, demo_history_seed
from demo.rulefiles import demo_rule_files
from demo.runbooks import RUNBOOKS
from demo.silences import demo_silences_seed
from demo.slos import demo_scorecard_history, demo_slos_seed
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

DEMO_ADMIN_USERNAME = "admin"
DEMO_PASSWORD = "steward-demo"  # noqa: S105 - a published demo login, never a real one
DEFAULT_LATENCY_SLO = "0.3"


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    admin_created: bool = False

    def add(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _teams(summary: DemoSummary) -> dict[str, Team]:
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    teams = {}
    for slug, name, tz, channel, members in demo_data.TEAMS:
        team, created = Team.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "timezone": tz,
                "chat_channel": channel,
                "email": f"{slug}@example.com",
                "escalation_url": f"https://pagerduty.example.com/escalation_policies/{slug}",
            },
        )
        summary.add("teams", created)
        teams[slug] = team
        for index, (username, first, last) in enumerate(members):
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "password": password,
                },
            )
            summary.add("users", created)
            role = Membership.Role.LEAD if index == 0 else Membership.Role.MEMBER
            _, created = Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": role}
            )
            summary.add("memberships", created)
    return teams


def _runbooks(teams: dict[str, Team], now: datetime, summary: DemoSummary) -> dict[str, Runbook]:
    runbooks = {r.slug: r for r in Runbook.objects.filter(slug__in=RUNBOOKS)}
    for slug, (title, team, reviewed_days_ago, body) in RUNBOOKS.items():
        if slug in runbooks:
            continue
        reviewed = None if reviewed_days_ago is None else now - timedelta(days=reviewed_days_ago)
        runbooks[slug] = runbook_save(
            runbook=Runbook(slug=slug),
            author=None,
            note="Demo data",
            title=title,
            owner_team=teams[team] if team else None,
            body=body,
            last_reviewed_at=reviewed,
        )
        summary.add("runbooks")
    return runbooks


def _links(spec: dict[str, Any]) -> dict[str, str]:
    slug, label = spec["slug"], "model" if spec["kind"] == "model" else "system"
    style = demo_data.LINK_STYLES.get(spec["team"] or "", "loki")
    logs = demo_data._KIBANA if style == "kibana" else demo_data._LOKI
    return {
        "dashboard_url": demo_data._GRAFANA.format(
            uid=f"ml-{spec['kind']}", slug=slug, label=label
        ),
        "trace_url_template": demo_data._JAEGER.format(slug=slug),
        "log_url_template": logs.format(slug=slug),
    }


def _systems(teams: dict[str, Team], summary: DemoSummary) -> dict[str, AISystem]:
    slugs = [spec["slug"] for spec in demo_data.SYSTEMS]
    systems = {s.slug: s for s in AISystem.objects.filter(slug__in=slugs)}
    for spec in demo_data.SYSTEMS:
        if spec["slug"] in systems:
            continue
        system = AISystem(
            slug=spec["slug"],
            name=spec["name"],
            kind=spec["kind"],
            environment=spec.get("environment", "prod"),
            tier=spec["tier"],
            lifecycle=spec.get("lifecycle", "active"),
            owner_team=teams[spec["team"]] if spec["team"] else None,
            business_owner=spec.get("business_owner", ""),
            description=spec["description"],
            repository_url=f"https://git.example.com/ml/{spec['slug']}",
            model_registry_url=(
                f"https://mlflow.example.com/#/models/{spec['slug']}"
                if spec["kind"] == "model"
                else ""
            ),
            **_links(spec),
        )
        system.full_clean()
        system.save()
        systems[system.slug] = system
        summary.add("systems")
    return systems


def _rule_specs(systems: dict[str, AISystem], runbooks: dict[str, Runbook]) -> list[dict[str, Any]]:
    """Every demo rule as AlertRule field values."""
    specs = []
    for spec in demo_data.SYSTEMS:
        system = systems[spec["slug"]]
        label = "model" if spec["kind"] == "model" else "system"
        values = {"slug": spec["slug"], "latency_slo": spec.get("latency_slo", DEFAULT_LATENCY_SLO)}
        overrides = {
            "ModelLatencyHigh": spec.get("latency_runbook"),
            "ModelErrorRateHigh": spec.get("error_runbook"),
        }
        rows = [
            (name, layer, severity, expr.format(**values), for_, summ.format(**values), rb)
            for name, layer, severity, expr, for_, summ, rb in demo_data.RULES_BY_KIND[spec["kind"]]
        ]
        rows += [
            (name, "business", sev, expr, "15m", summ, rb)
            for name, sev, expr, summ, rb in spec.get("business", [])
        ]
        for name, layer, severity, expr, for_, summ, runbook in rows:
            if name == "ModelLatencyHigh" and spec["tier"] != "critical":
                severity = "warning"  # only latency on a critical path wakes people up
            # Nobody claims CPU throttling alerts: a deliberate ownership gap.
            owner = None if name == "ServiceCPUThrottling" else system.owner_team
            specs.append(
                {
                    "alertname": name,
                    "matchers": {label: spec["slug"]},
                    "layer": layer,
                    "severity": severity,
                    "expression": expr,
                    "for_duration": parse_duration(for_),
                    "summary": summ,
                    "owner_team": owner,
                    "system": system,
                    "runbook": runbooks.get(overrides.get(name) or runbook or ""),
                    "labels": {
                        "severity": severity,
                        "layer": layer,
                        label: spec["slug"],
                        **({"team": owner.slug} if owner else {}),
                    },
                }
            )
    return specs


def _fleet_rule_specs(teams: dict[str, Team], runbooks: dict[str, Runbook]) -> list[dict[str, Any]]:
    return [
        {
            "alertname": rule["alertname"],
            "matchers": {},
            "layer": rule["layer"],
            "severity": rule["severity"],
            "expression": rule["expression"],
            "for_duration": parse_duration(rule["for"]),
            "summary": rule["summary"],
            "owner_team": teams[rule["team"]] if rule["team"] else None,
            "runbook": runbooks.get(rule["runbook"] or ""),
            "labels": {"severity": rule["severity"], "layer": rule["layer"]},
        }
        for rule in demo_data.FLEET_RULES
    ]


def _rules(
    teams: dict[str, Team],
    systems: dict[str, AISystem],
    runbooks: dict[str, Runbook],
    now: datetime,
    summary: DemoSummary,
) -> None:
    existing = set(AlertRule.objects.values_list("alertname", "matchers_key"))
    muted = {(name, system): days for name, system, days in demo_data.MUTED_RULES}
    for spec in _rule_specs(systems, runbooks) + _fleet_rule_specs(teams, runbooks):
        if (spec["alertname"], matchers_key(spec["matchers"])) in existing:
            continue
        rule = AlertRule(source=Source.PROMETHEUS, **spec)
        key = (rule.alertname, next(iter(rule.matchers.values()), ""))
        if key in muted:
            rule.status = AlertRule.Status.MUTED
            days = muted[key]
            rule.muted_at = now - timedelta(days=75 if days is None else 3)
            rule.muted_until = None if days is None else now + timedelta(days=days)
        rule.save()
        summary.add("rules")
    uncatalogued = demo_data.UNCATALOGUED_RULE
    _, created = AlertRule.objects.get_or_create(
        alertname=uncatalogued["alertname"],
        matchers_key="",
        defaults={
            "catalogued": False,
            "source": Source.PROMETHEUS,
            "labels": uncatalogued["labels"],
            "last_fired_at": now - timedelta(hours=2),
        },
    )
    summary.add("rules", created)


@transaction.atomic
def demo_seed(*, now: datetime) -> DemoSummary:
    """Create the demo fleet where it is missing; existing rows are left as they are.

    1. Teams with members (Django users; the first member of each team leads it).
    2. Runbooks, written through runbook_save so that each has its first revision.
    3. AI systems with dashboard, trace and log link templates.
    4. Alert rules on all three layers, including the deliberate gaps.
    5. The admin user (superuser) with the published demo password.
    """
    summary = DemoSummary()
    teams = _teams(summary)
    runbooks = _runbooks(teams, now, summary)
    systems = _systems(teams, summary)
    _rules(teams, systems, runbooks, now, summary)
    if not User.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        User.objects.create_superuser(
            DEMO_ADMIN_USERNAME, f"{DEMO_ADMIN_USERNAME}@example.com", DEMO_PASSWORD
        )
        summary.admin_created = True
    return summary


@dataclass
class DemoReport:
    """What one `seed_demo` run wrote."""

    catalog: DemoSummary
    automation_created: int
    slos_created: int
    history: HistorySummary
    snapshots: int


@transaction.atomic
def demo_seed_all(*, now: datetime) -> DemoReport:
    """The whole demo in one transaction, so a failure leaves nothing half-written:
    the catalog, the automation action with its history (before the history is planned and
    evaluated: the plan makes its alert fire now), SLOs of the critical systems, 8 weeks of
    history with past review decisions (evaluated), then 12 weeks of scorecard snapshots (they
    read the flags and SLOs)."""
    catalog = demo_seed(now=now)
    automation = demo_automation_seed(now=now)
    slos = demo_slos_seed()
    history = demo_history_seed(now=now)
    # The teams' rule files, as the rules stand after the history (so decisions become a patch).
    catalog.add("rule files", demo_rule_files())
    catalog.add("silences", demo_silences_seed(now=now))
    snapshots = demo_scorecard_history(now=now)
    return DemoReport(
        catalog=catalog,
        automation_created=automation,
        slos_created=slos,
        history=history,
        snapshots=snapshots,
    )
