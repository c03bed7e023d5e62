from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import QueryDict
from django.shortcuts import get_object_or_404

from alerts.catalog.ownership import firing_counts, is_owned, rule_owner_team
from alerts.models import AlertRule, Episode, Feedback
from alerts.selectors import RuleResolution, query_labels, rule_resolution, rules_by_alertname
from fleet.links import InvestigateLink, investigate_links
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook

# Label names as Prometheus defines them; other query parameters are not labels.
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


MAX_QUERY_LABELS = 30


MAX_LABEL_VALUE = 1000


MAX_FIRING_SHOWN = 50


HISTORY_SHOWN = 10


NEARBY_SHOWN = 50


def oncall_labels(query: QueryDict) -> dict[str, str]:
    """Label equalities from the query string (`?model=fraud-scorer&env=prod`).

    Anything that is not a label name is ignored, so a stray parameter cannot break the page;
    an empty value (`?model=` from a template whose label the series lacks) counts as absent.
    """
    labels: dict[str, str] = {}
    for name in list(query.keys())[:MAX_QUERY_LABELS]:
        if name == "alertname" or not _LABEL_NAME.match(name):
            continue
        labels[name] = (query.get(name) or "")[:MAX_LABEL_VALUE]
    return query_labels(labels)


def oncall_resolution(*, alertname: str, labels: Mapping[str, str]) -> RuleResolution:
    """The rule the on-call page is about (alerts.selectors.rule_resolution, as the API)."""
    return rule_resolution(rules_by_alertname([alertname]).get(alertname, []), labels)


@dataclass(frozen=True)
class Choice:
    """One rule of the chooser shown when the labels do not pick one rule."""

    rule: AlertRule
    firing: int
    owned: bool
    query: str  # the on-call page's query string for this rule's labels


def episodes_with_labels(
    episodes: QuerySet[Episode], labels: Mapping[str, str]
) -> QuerySet[Episode]:
    """Episodes whose labels include every given label value (works on SQLite and PostgreSQL)."""
    for position, (name, value) in enumerate(sorted(labels.items())):
        alias = f"_label_{position}"
        episodes = episodes.alias(
            **{alias: Cast(KeyTextTransform(name, "labels"), TextField())}
        ).filter(**{alias: value})
    return episodes


@dataclass
class OnCall:
    """Everything the on-call page shows above the runbook."""

    alertname: str
    labels: dict[str, str]
    rule: AlertRule | None
    candidates: list[AlertRule]
    choices: list[Choice]
    ambiguous: bool
    system: AISystem | None
    team: Team | None
    leads: list[Membership]
    firing: list[Episode]
    history: list[Episode]
    focus: Episode | None
    window_start: datetime
    window_end: datetime
    links: list[InvestigateLink]
    nearby: list[Episode]
    engaged: list[Episode] = field(default_factory=list)

    @property
    def runbook(self) -> Runbook | None:
        return self.rule.runbook if self.rule is not None else None


def _system_from_labels(labels: Mapping[str, str]) -> AISystem | None:
    """For an alert Steward does not know, the system named by its `model`/`system` label."""
    slugs = [labels[name] for name in ("model", "system") if labels.get(name)]
    if not slugs:
        return None
    return AISystem.objects.select_related("owner_team").filter(slug__in=slugs).first()


def _nearby(*, system: AISystem | None, rule: AlertRule | None, anchor: datetime) -> list[Episode]:
    """Episodes of other rules on the same system starting within 30 minutes of the anchor."""
    if system is None:
        return []
    window = timedelta(minutes=30)
    episodes = (
        Episode.objects.filter(Q(system=system) | Q(rule__system=system))
        .filter(starts_at__gte=anchor - window, starts_at__lte=anchor + window)
        .select_related("rule")
        .order_by("starts_at", "id")
    )
    if rule is not None:
        episodes = episodes.exclude(rule=rule)
    return list(episodes[:NEARBY_SHOWN])


def oncall_context(*, alertname: str, labels: dict[str, str], now: datetime) -> OnCall:
    """Resolve the rule for these labels and gather the live context around it.

    1. Rules sharing the alertname are loaded in one query; matchers pick the most specific.
    2. Open episodes of that rule whose labels match, and the last ten, give "since when".
    3. The focus episode (earliest still firing, else the latest) anchors the investigate
       links' window and the 30-minute neighbourhood on the same system.
    """
    resolution = oncall_resolution(alertname=alertname, labels=labels)
    rule = resolution.rule
    firing: list[Episode] = []
    history: list[Episode] = []
    if rule is not None:
        mine = episodes_with_labels(Episode.objects.filter(rule=rule), labels)
        mine = mine.select_related("system")
        firing = list(
            mine.filter(ends_at__isnull=True).order_by("starts_at", "id")[:MAX_FIRING_SHOWN]
        )
        history = list(mine.order_by("-starts_at", "-id")[:HISTORY_SHOWN])
    focus = firing[0] if firing else (history[0] if history else None)
    system = rule.system if rule is not None else None
    if system is None and focus is not None:
        system = focus.system
    if system is None and rule is None:
        system = _system_from_labels(labels)
    team = rule_owner_team(rule) if rule is not None else None
    if rule is None and system is not None and system.owner_team_id:
        team = system.owner_team  # an alert Steward does not know: whoever owns its system
    leads = (
        list(
            Membership.objects.filter(team=team, role=Membership.Role.LEAD)
            .select_related("user")
            .order_by("user__username")
        )
        if team is not None
        else []
    )
    if focus is not None:
        window_start, window_end = focus.starts_at, focus.ends_at or now
    else:
        window_start, window_end = now - timedelta(hours=1), now
    link_labels = {str(k): str(v) for k, v in (focus.labels if focus else {}).items()}
    link_labels.update(labels)
    link_labels["alertname"] = alertname
    recent = now - timedelta(hours=1)
    engaged = {e.pk: e for e in [*firing, *history] if e.is_firing or e.starts_at >= recent}
    return OnCall(
        alertname=alertname,
        labels=labels,
        rule=rule,
        candidates=resolution.known,
        choices=_choices(resolution),
        ambiguous=resolution.ambiguous,
        system=system,
        team=team,
        leads=leads,
        firing=firing,
        history=history,
        focus=focus,
        window_start=window_start,
        window_end=window_end,
        links=investigate_links(system, start=window_start, end=window_end, labels=link_labels),
        nearby=_nearby(system=system, rule=rule, anchor=window_start),
        engaged=list(engaged.values()),
    )


def _choices(resolution: RuleResolution) -> list[Choice]:
    """The chooser: the candidates (or, when the labels contradict every rule, all rules of
    the alertname), firing ones first. Two queries (open episodes, owner teams' members)."""
    if resolution.rule is not None:
        return []
    rules = resolution.candidates if resolution.ambiguous else resolution.known
    firing = firing_counts(rules)
    team_ids = {team.pk for rule in rules if (team := rule_owner_team(rule)) is not None}
    staffed = set(Membership.objects.filter(team_id__in=team_ids).values_list("team_id", flat=True))
    choices = []
    for rule in rules:
        team = rule_owner_team(rule)
        team_id = team.pk if team is not None else None
        choices.append(
            Choice(
                rule=rule,
                firing=firing.get(rule.pk, 0),
                owned=is_owned(team_id, 1 if team_id in staffed else 0),
                query=urlencode(dict(sorted(rule.matchers.items()))),
            )
        )
    choices.sort(key=lambda choice: (-choice.firing, str(choice.rule)))
    return choices


def feedback_for(*, episode: Episode | None, user: Any) -> Feedback | None:
    if episode is None or not getattr(user, "is_authenticated", False):
        return None
    return Feedback.objects.filter(episode=episode, user=user).first()


def oncall_episode(*, rule: AlertRule, episode_id: int) -> Episode:
    """An episode of this rule (feedback can only target the rule the page is about)."""
    return get_object_or_404(Episode, pk=episode_id, rule=rule)
