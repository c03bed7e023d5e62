"""The link that opens "write a runbook" for an alert rule, prefilled and linked on save."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from django.urls import reverse


def new_runbook_url(alertname: str, labels: Mapping[str, str]) -> str:
    """`/runbooks/new/?alertname=…&<labels>`: the page resolves the rule from the alertname and
    these labels (a rule's matchers) and links the runbook to it on save, so every "Write the
    runbook" link must carry the matchers, not the alertname alone."""
    query = {"alertname": alertname}
    query.update({name: labels[name] for name in sorted(labels) if name != "alertname"})
    return f"{reverse('runbooks:new')}?{urlencode(query)}"
