"""Links from any page to an alert's on-call page and to "write its runbook".

`{% load alert_links %}` then `{{ rule|oncall_url }}`, `{{ episode|oncall_url }}` and
`{{ rule|new_runbook_url }}`; the URLs come from `alerts.catalog.ownership.oncall_path` and
`runbooks.links.new_runbook_url`, so every page builds them the same way.
"""

from __future__ import annotations

from django import template

from alerts.catalog.ownership import oncall_path
from alerts.models import AlertRule, Episode
from runbooks import links

register = template.Library()


def episode_oncall_labels(episode: Episode) -> dict[str, str]:
    """The episode's labels with its rule's matchers on top: the on-call page resolves the
    same rule and opens on this very episode (it filters episodes by the labels given)."""
    labels = {str(name): str(value) for name, value in (episode.labels or {}).items()}
    labels.update(episode.rule.matchers or {})
    return labels


@register.filter
def oncall_url(item: AlertRule | Episode) -> str:
    if isinstance(item, Episode):
        return oncall_path(item.rule.alertname, episode_oncall_labels(item))
    return oncall_path(item.alertname, item.matchers or {})


@register.filter
def new_runbook_url(rule: AlertRule) -> str:
    return links.new_runbook_url(rule.alertname, rule.matchers or {})
