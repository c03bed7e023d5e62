"""The exact `runbook_url` annotation of a rule, for templates (built in catalog.ownership)."""

from __future__ import annotations

from django import template

from alerts.catalog.ownership import rule_runbook_url_annotation
from alerts.models import AlertRule

register = template.Library()


@register.filter
def runbook_url_annotation(rule: AlertRule) -> str:
    return rule_runbook_url_annotation(rule)
