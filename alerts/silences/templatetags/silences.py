"""Small blocks other pages include: a rule's silences (rule and on-call pages) and the weekly
review's silence digest. Tags, so those pages' views need no change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils import timezone

from alerts.models import AlertRule
from alerts.silences.selectors import held_back_episodes, rule_silences, silence_digest
from fleet.models import Team

register = template.Library()


@register.inclusion_tag("silences/_rule_silences.html")
def silences_for_rule(
    rule: AlertRule | None, labels: Mapping[str, str] | None = None, effect: bool = False
) -> dict[str, Any]:
    """ "Silenced until … by … because …" for a rule (and, on the on-call page, the alert's
    labels); with `effect`, how many of the rule's alerts each silence held back."""
    if rule is None or rule.pk is None:
        return {"silences": []}
    now = timezone.now()
    silences = rule_silences(rule, labels)
    rows = []
    for silence in silences:
        held = held_back_episodes(silence, now=now, limit=0)[1] if effect else None
        rows.append((silence, held))
    return {"silences": rows, "rule": rule, "now": now, "effect": effect}


@register.inclusion_tag("silences/_review_digest.html")
def silence_review_digest(team: Team | None = None) -> dict[str, Any]:
    """The weekly review's section on silences: flagged ones and those ending within 48 h."""
    return {"digest": silence_digest(team=team, now=timezone.now()), "team": team}
