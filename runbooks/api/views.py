from __future__ import annotations

import django_filters

from api.base import OwnedModelViewSet
from api.docs import catalog_docs
from runbooks.api.serializers import RunbookSerializer
from runbooks.models import Runbook, RunbookQuerySet


class RunbookFilter(django_filters.FilterSet):
    owner_team = django_filters.CharFilter(field_name="owner_team__slug")
    stale = django_filters.BooleanFilter(method="filter_stale")

    class Meta:
        model = Runbook
        fields = ["owner_team", "stale"]

    def filter_stale(self, queryset: RunbookQuerySet, name: str, value: bool) -> RunbookQuerySet:
        return queryset.stale() if value else queryset.fresh()


@catalog_docs(
    "runbook",
    {
        "slug": "fraud-scorer-latency",
        "title": "Fraud scorer latency",
        "owner_team": "fraud-ml",
        "body": "## Check\n1. Open the dashboard.",
        "rendered_html": "<h2>Check</h2>\n<ol>\n<li>Open the dashboard.</li>\n</ol>",
        "review_interval_days": 90,
        "stale": False,
    },
    note="`rendered_html` is the sanitized HTML of `body` (read-only); every write records a "
    "revision.",
)
class RunbookViewSet(OwnedModelViewSet):
    serializer_class = RunbookSerializer
    lookup_field = "slug"
    filterset_class = RunbookFilter
    ordering_fields = ["title", "slug", "review_due_at", "updated_at"]
    queryset = Runbook.objects.select_related("owner_team")
