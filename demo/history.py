"""Eight weeks of believable firing history for whatever catalog exists (the demo).

`demo.plan.history_plan` decides what fired when (pure, seeded); this module reads the
catalog into plain data, writes the plan, records the past review's decisions through the
review services and evaluates the 8 weeks.

Demo episodes look like production ones (real labels, real Alertmanager fingerprints). They
are recognised by their `generator_url`, which points at the demo's example Prometheus (as
every demo link points at an example host), and replaced on each run, so a re-run with the
same `now` leaves the same data. Demo decisions are recognised by their rule and fixed note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from alerts.automation.models import Action
from alerts.models import AlertRule, Decision, Engagement, Episode, Feedback
from alerts.noise.evaluation import week_evaluate
from alerts.review.services import decision_mark_done, decision_record
from core.choices import Source
from demo.plan import DECISION_NOTES, HistoryPlan, PlannedDecision, RuleData, history_plan
from fleet.models import Membership

DEMO_PROMETHEUS = "https://prometheus.example.com"
# Episodes written by earlier versions of the demo carried fingerprints "demo-<rule>-<x>".
_LEGACY_PREFIX = "demo-"


@dataclass
class HistorySummary:
    episodes: int
    firing_now: int
    decisions_created: int


def demo_episodes() -> Q:
    """The episodes the demo wrote (and replaces on its next run)."""
    return Q(generator_url__startswith=f"{DEMO_PROMETHEUS}/") | Q(
        fingerprint__startswith=_LEGACY_PREFIX
    )


def _demo_user() -> User:
    user, created = User.objects.get_or_create(
        username="demo-oncall", defaults={"first_name": "Demo", "last_name": "On-call"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _catalog_extras(now: datetime) -> None:
    """An uncatalogued rule (as ingest creates one) and a rule muted with no end."""
    AlertRule.objects.get_or_create(
        alertname="DemoUnregisteredDiskPressure",
        matchers_key="",
        defaults={"catalogued": False, "source": Source.PROMETHEUS, "last_fired_at": now},
    )
    if not AlertRule.objects.filter(status=AlertRule.Status.MUTED).exists():
        quiet = (
            AlertRule.objects.filter(status=AlertRule.Status.ACTIVE, catalogued=True)
            .order_by("-alertname")
            .first()
        )
        if quiet is not None:
            quiet.status = AlertRule.Status.MUTED
            quiet.muted_at = now - timedelta(days=75)
            quiet.muted_until = None
            quiet.save(update_fields=["status", "muted_at", "muted_until", "updated_at"])


def _team_leads() -> dict[int, int]:
    """Team id -> the member who records its decisions (the lead, else the first member)."""
    leads: dict[int, int] = {}
    # "lead" sorts before "member".
    for team_id, user_id in Membership.objects.order_by("team_id", "role", "pk").values_list(
        "team_id", "user_id"
    ):
        leads.setdefault(team_id, user_id)
    return leads


def _rule_data() -> tuple[list[RuleData], dict[int, AlertRule]]:
    rules = list(
        AlertRule.objects.exclude(
            status__in=[
                AlertRule.Status.RETIRED,
                AlertRule.Status.PRUNED,
                AlertRule.Status.MUTED,
            ]
        )
        .select_related("owner_team")
        .order_by("alertname", "matchers_key")
    )
    leads = _team_leads()
    automated = set(Action.objects.values_list("runbook_id", flat=True))
    data = [
        RuleData(
            id=rule.pk,
            alertname=rule.alertname,
            severity=rule.severity,
            matchers=dict(rule.matchers),
            labels={k: str(v) for k, v in (rule.labels or {}).items()},
            team=rule.owner_team.slug if rule.owner_team else "",
            team_timezone=rule.owner_team.timezone if rule.owner_team else "UTC",
            has_runbook=rule.runbook_id is not None,
            system_id=rule.system_id,
            catalogued=rule.catalogued,
            decider_id=leads.get(rule.owner_team_id) if rule.owner_team_id else None,
            for_seconds=int(rule.for_duration.total_seconds()) if rule.for_duration else 0,
            automated=rule.runbook_id in automated,
        )
        for rule in rules
    ]
    return data, {rule.pk: rule for rule in rules}


def _generator_url(rule: AlertRule) -> str:
    expression = rule.expression or f'ALERTS{{alertname="{rule.alertname}"}}'
    return f"{DEMO_PROMETHEUS}/graph?g0.expr={quote(expression, safe='')}&g0.tab=1"


def _write_episodes(plan: HistoryPlan, rules: dict[int, AlertRule], now: datetime) -> int:
    Episode.objects.filter(demo_episodes()).delete()
    user = _demo_user()
    episodes: list[Episode] = []
    for firing in plan.firings:
        rule = rules[firing.rule_id]
        episodes.append(
            Episode(
                rule_id=rule.pk,
                fingerprint=firing.fingerprint,
                labels=firing.labels,
                annotations={"summary": rule.summary} if rule.summary else {},
                starts_at=firing.starts_at,
                ends_at=firing.ends_at,
                source=Source.PROMETHEUS,
                system_id=rule.system_id,
                generator_url=_generator_url(rule),
                last_notified_at=firing.ends_at or now,
                notification_count=1,
                created_at=firing.starts_at,
                updated_at=firing.ends_at or now,
            )
        )
    created = Episode.objects.bulk_create(episodes, batch_size=500)
    engagements, verdicts = [], []
    for episode, firing in zip(created, plan.firings, strict=True):
        seen = episode.starts_at + timedelta(minutes=4)
        if firing.engaged:
            engagements.append(
                Engagement(episode=episode, user=user, kind=Engagement.Kind.RUNBOOK_VIEW, at=seen)
            )
        if firing.feedback is not None:
            verdicts.append(
                Feedback(
                    episode=episode,
                    user=user,
                    actionable=firing.feedback,
                    created_at=seen,
                    updated_at=seen,
                )
            )
    Engagement.objects.bulk_create(engagements, batch_size=500)
    Feedback.objects.bulk_create(verdicts, batch_size=500)
    return len(created)


def _mark_last_fired(plan: HistoryPlan, rules: dict[int, AlertRule]) -> None:
    """Each rule's last_fired_at moves to its latest demo start, never backwards (as ingest)."""
    latest: dict[int, datetime] = {}
    for firing in plan.firings:
        latest[firing.rule_id] = max(latest.get(firing.rule_id, firing.starts_at), firing.starts_at)
    changed = []
    for rule_id, started in latest.items():
        rule = rules[rule_id]
        if rule.last_fired_at is None or rule.last_fired_at < started:
            rule.last_fired_at = started
            changed.append(rule)
    AlertRule.objects.bulk_update(changed, ["last_fired_at"], batch_size=500)


def _record_decisions(planned: list[PlannedDecision], rules: dict[int, AlertRule]) -> int:
    """Record the past review's decisions through the review service, once.

    A decision from an earlier run in another week is replaced, so the effects page always
    measures decisions that the current history was planned around.
    """
    created = 0
    notes = set(DECISION_NOTES.values())
    wanted = {(d.rule_id, d.kind, d.week) for d in planned}
    existing = Decision.objects.filter(note__in=notes)
    for stale in existing:
        if (stale.rule_id, stale.kind, stale.week) not in wanted:
            stale.delete()
    present = set(existing.values_list("rule_id", "kind", "week"))
    users = User.objects.in_bulk({d.decider_id for d in planned})
    for plan in planned:
        if (plan.rule_id, plan.kind, plan.week) in present:
            continue
        user = users[plan.decider_id]
        decision = decision_record(
            user=user,
            rule=rules[plan.rule_id],
            week=plan.week,
            kind=plan.kind,
            note=plan.note,
            owner=user,
            due_date=(plan.decided_at + timedelta(days=7)).date(),
            now=plan.decided_at,
        )
        if plan.kind == Decision.Kind.TUNE:
            decision_mark_done(
                user=user, decision=decision, now=plan.decided_at + timedelta(days=2)
            )
        created += 1
    return created


@transaction.atomic
def demo_history_seed(*, now: datetime) -> HistorySummary:
    """Create the demo history ending at `now`, its past decisions, and evaluate its 8 weeks."""
    _catalog_extras(now)
    data, rules = _rule_data()
    plan = history_plan(data, now=now)
    count = _write_episodes(plan, rules, now)
    _mark_last_fired(plan, rules)
    decisions = _record_decisions(plan.decisions, rules)
    for week in plan.weeks:
        week_evaluate(week=week, now=now)
    firing = sum(1 for firing in plan.firings if firing.ends_at is None)
    return HistorySummary(episodes=count, firing_now=firing, decisions_created=decisions)
