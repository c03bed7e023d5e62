"""The exact `runbook_url` annotation of a rule, for templates (alerts.ownership builds it)."""

from __future__ import annotations

from django import template

from alerts.models import AlertRule
from alerts.ownership import rule_runbook_url_annotation

register = template.Library()


@register.filter
def runbook_url_annotation(rule: AlertRule) -> str:
    return rule_runbook_url_annotation(rule)
