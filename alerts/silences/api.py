"""Read-only REST endpoints of the silence ledger: /api/v1/silences/ and /api/v1/silences/<id>/.

Silences are written in Alertmanager (amtool, its UI, or a mute decision in the review);
Steward only reads them into the ledger, so these endpoints never write.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from alerts.silences.models import Silence, SilenceCoverage, SilenceEvent
from alerts.silences.policy import SilenceFlag, silence_flags
from api.docs import catalog_docs
from api.permissions import ReadOnlyCatalogAccess


class SilenceFlagSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    message = serializers.CharField()
    action = serializers.CharField()
    url = serializers.CharField()


class SilenceCoverageSerializer(serializers.ModelSerializer[SilenceCoverage]):
    rule = serializers.IntegerField(source="rule_id")
    alertname = serializers.CharField(source="rule.alertname")
    matchers = serializers.JSONField(source="rule.matchers")

    class Meta:
        model = SilenceCoverage
        fields = ["rule", "alertname", "matchers", "kind"]


class SilenceEventSerializer(serializers.ModelSerializer[SilenceEvent]):
    class Meta:
        model = SilenceEvent
        fields = ["kind", "at", "actor", "reason", "detail"]


class SilenceSerializer(serializers.ModelSerializer[Silence]):
    matchers_text = serializers.CharField(source="matchers_display", read_only=True)
    teams: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    rules = SilenceCoverageSerializer(source="coverage", many=True, read_only=True)
    flags = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "alertmanager_id",
            "matchers",
            "matchers_text",
            "created_by",
            "comment",
            "starts_at",
            "ends_at",
            "state",
            "first_seen_at",
            "last_seen_at",
            "vanished_at",
            "expired_early_at",
            "expired_by",
            "last_matched_at",
            "teams",
            "rules",
            "flags",
        ]

    @extend_schema_field(SilenceFlagSerializer(many=True))
    def get_flags(self, silence: Silence) -> list[dict[str, Any]]:
        flags: dict[int, list[SilenceFlag]] | None = self.context.get("flags")
        if flags is None:
            flags = silence_flags([silence], now=timezone.now())
        shown = flags.get(silence.pk, [])
        return [SilenceFlagSerializer(flag).data for flag in shown]


class SilenceDetailSerializer(SilenceSerializer):
    events = SilenceEventSerializer(many=True, read_only=True)

    class Meta(SilenceSerializer.Meta):
        fields = [*SilenceSerializer.Meta.fields, "events"]


class SilenceFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="teams__slug", distinct=True)
    rule = django_filters.NumberFilter(field_name="rules", distinct=True)
    creator = django_filters.CharFilter(field_name="created_by", lookup_expr="icontains")
    live = django_filters.BooleanFilter(method="filter_live")

    class Meta:
        model = Silence
        fields = ["state", "team", "rule", "creator", "live"]

    def filter_live(self, queryset: QuerySet[Silence], name: str, value: bool) -> QuerySet[Silence]:
        live = Q(state__in=[Silence.State.ACTIVE, Silence.State.PENDING], vanished_at__isnull=True)
        return queryset.filter(live) if value else queryset.exclude(live)


@catalog_docs(
    "silence",
    {
        "id": 12,
        "alertmanager_id": "6ffe29d6-954e-4144-95ee-f819ef9a4126",
        "matchers": [
            {"name": "alertname", "value": "ModelLatencyHigh", "isRegex": False, "isEqual": True}
        ],
        "matchers_text": '{alertname="ModelLatencyHigh"}',
        "created_by": "alice",
        "comment": "INC-231: latency during the migration",
        "starts_at": "2026-11-20T10:00:00Z",
        "ends_at": "2026-11-21T10:00:00Z",
        "state": "active",
        "teams": ["fraud-ml"],
        "rules": [{"rule": 7, "alertname": "ModelLatencyHigh", "matchers": {}, "kind": "full"}],
        "flags": [],
    },
    writable=False,
    note="Read-only: the ledger of Alertmanager's silences, synced every minute. Filters: "
    "state (active, pending, expired), team (a team slug: silences covering its rules), rule "
    "(a rule id), creator (substring), live=true|false. Each silence lists the catalogued rules "
    "it covers (full: all their alerts; partial: some) and its policy flags; the detail adds "
    "its history.",
)
class SilenceViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = SilenceFilter
    ordering_fields = ["starts_at", "ends_at", "first_seen_at"]
    queryset = Silence.objects.prefetch_related("teams", "coverage__rule").order_by(
        "-starts_at", "-pk"
    )

    def get_serializer_class(self) -> type[SilenceSerializer]:
        return SilenceDetailSerializer if self.action == "retrieve" else SilenceSerializer

    def paginate_queryset(self, queryset: QuerySet[Any]) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._flags = silence_flags(page, now=timezone.now())
        return page

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        flags = getattr(self, "_flags", None)
        if flags is not None:
            context["flags"] = flags
        return context
