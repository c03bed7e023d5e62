"""Catalog and history endpoints of the alerts app: rules (writable), episodes, weekly
statistics, flags, reviews and decisions (read-only), and lint waivers."""

from __future__ import annotations

import copy
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.serializers import (
    AlertRuleSerializer,
    DecisionSerializer,
    EpisodeSerializer,
    ReviewSerializer,
    RuleFlagSerializer,
    RuleWeekSerializer,
    WaiverSerializer,
)
from alerts.catalog.capture import rule_capture_authorize
from alerts.models import AlertRule, Decision, Episode, Review, RuleFlag, RuleWeek, Waiver
from alerts.review.patches import review_patch
from api.base import OwnedModelViewSet
from api.docs import catalog_docs
from api.permissions import FleetAdminWrites, ReadOnlyCatalogAccess
from core.weeks import parse_week
from fleet.models import Team


class AlertRuleFilter(django_filters.FilterSet):
    owner_team = django_filters.CharFilter(field_name="owner_team__slug")
    system = django_filters.CharFilter(field_name="system__slug")
    runbook = django_filters.CharFilter(field_name="runbook__slug")

    class Meta:
        model = AlertRule
        fields = [
            "alertname",
            "owner_team",
            "system",
            "runbook",
            "severity",
            "layer",
            "status",
            "source",
            "catalogued",
        ]


@catalog_docs(
    "alert rule",
    {
        "id": 7,
        "alertname": "ModelLatencyHigh",
        "matchers": {"model": "fraud-scorer"},
        "severity": "page",
        "layer": "infra",
        "owner_team": "fraud-ml",
        "system": "fraud-scorer",
        "runbook": "fraud-scorer-latency",
        "status": "active",
        "expression": "histogram_quantile(0.99, rate(latency_bucket[5m])) > 0.3",
        "for_duration": "00:05:00",
        "summary": "p99 latency above 300 ms",
    },
    note="The runbook and system a rule points to must belong to a team the caller may edit. "
    "Ownership is claimed, not taken: a rule that would win alerts another team's rule catches "
    "today (the rule with the most matchers wins an alert, so e.g. adding `env=prod` to that "
    "team's `model=recommender-v7`) may be created or changed only by that team or staff "
    "(403 naming the team and rule otherwise).",
)
class AlertRuleViewSet(OwnedModelViewSet):
    serializer_class = AlertRuleSerializer
    filterset_class = AlertRuleFilter
    related_owned = ("runbook", "system")
    ordering_fields = ["alertname", "severity", "layer", "status", "last_fired_at", "created_at"]
    queryset = AlertRule.objects.select_related("owner_team", "system", "runbook")

    def authorize_payload(self, data: dict[str, Any], instance: Model | None) -> None:
        """Besides the teams named, the alerts the rule would take (alerts.catalog.capture)."""
        super().authorize_payload(data, instance)
        before = instance if isinstance(instance, AlertRule) else None
        rule = copy.copy(before) if before is not None else AlertRule()
        for name, value in data.items():
            setattr(rule, name, value)
        try:
            rule_capture_authorize(user=self.request.user, rule=rule, before=before)
        except DjangoPermissionDenied as refused:
            raise PermissionDenied(str(refused)) from refused


class EpisodeFilter(django_filters.FilterSet):
    alertname = django_filters.CharFilter(field_name="rule__alertname")
    system = django_filters.CharFilter(field_name="system__slug")
    since = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open (firing)"), ("resolved", "Resolved")], method="filter_state"
    )

    class Meta:
        model = Episode
        fields = ["rule", "alertname", "system", "since", "until", "state", "source"]

    def filter_state(self, queryset: QuerySet[Episode], name: str, value: str) -> QuerySet[Episode]:
        return queryset.filter(ends_at__isnull=value == "open")


@catalog_docs(
    "episode",
    {
        "id": 101,
        "rule": 7,
        "alertname": "ModelLatencyHigh",
        "fingerprint": "3f1c2a9b8d7e6f50",
        "labels": {"alertname": "ModelLatencyHigh", "model": "fraud-scorer"},
        "starts_at": "2026-11-20T03:12:00Z",
        "ends_at": None,
        "state": "open",
        "source": "prometheus",
        "system": "fraud-scorer",
    },
    writable=False,
    note="Read-only: episodes come from the ingest webhooks. Filters: rule, alertname, system, "
    "since/until (on starts_at), state=open|resolved, source.",
)
class EpisodeViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = EpisodeSerializer
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = EpisodeFilter
    ordering_fields = ["starts_at", "ends_at", "notification_count"]
    queryset = Episode.objects.select_related("rule", "system")


class WeeklyFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="rule__owner_team__slug")
    alertname = django_filters.CharFilter(field_name="rule__alertname")


class RuleWeekFilter(WeeklyFilter):
    class Meta:
        model = RuleWeek
        fields = ["week", "team", "rule", "alertname"]


@catalog_docs(
    "weekly rule statistic",
    {
        "id": 3,
        "rule": 7,
        "alertname": "ModelLatencyHigh",
        "team": "fraud-ml",
        "week": "2026-W47",
        "fires": 31,
        "flaps": 4,
        "engaged_ratio": 0.1,
        "interruptions_sleep": 3,
    },
    writable=False,
    note="Read-only, computed by the noise evaluation. Filters: week (e.g. 2026-W47), team.",
)
class RuleWeekViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = RuleWeekSerializer
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = RuleWeekFilter
    ordering_fields = ["week", "fires", "firing_seconds", "flaps"]
    queryset = RuleWeek.objects.select_related("rule__owner_team")


class RuleFlagFilter(WeeklyFilter):
    class Meta:
        model = RuleFlag
        fields = ["week", "team", "rule", "alertname", "flag"]


@catalog_docs(
    "flag",
    {
        "id": 9,
        "rule": 7,
        "alertname": "ModelLatencyHigh",
        "team": "fraud-ml",
        "week": "2026-W47",
        "flag": "noisy",
        "evidence": {"fires": 47, "median_4w": 15},
        "message": "Fired 47 times, 3.1x its 4-week median of 15.",
    },
    writable=False,
    note="Read-only, raised by the noise evaluation. Filters: week, team, flag.",
)
class RuleFlagViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = RuleFlagSerializer
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = RuleFlagFilter
    ordering_fields = ["week", "flag", "created_at"]
    queryset = RuleFlag.objects.select_related("rule__owner_team")


class ReviewFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")

    class Meta:
        model = Review
        fields = ["week", "team"]


REVIEW_NOTE = (
    "Read-only here: decisions are recorded on the weekly review page (`/review/<week>/`), "
    "where recording one also applies its side effects (mute, reassign, prune)."
)


@catalog_docs(
    "review",
    {
        "id": 2,
        "week": "2026-W47",
        "team": "fraud-ml",
        "attendees": ["alice", "bob"],
        "notes": "",
        "started_at": "2026-11-23T10:00:00Z",
        "closed_at": None,
        "decisions": [5, 6],
    },
    writable=False,
    note=REVIEW_NOTE,
)
class ReviewViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = ReviewSerializer
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = ReviewFilter
    ordering_fields = ["week", "created_at"]
    queryset = Review.objects.select_related("team").prefetch_related("attendees", "decisions")


class DecisionFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="rule__owner_team__slug")
    open = django_filters.BooleanFilter(field_name="done_at", lookup_expr="isnull")

    class Meta:
        model = Decision
        fields = ["week", "team", "rule", "review", "kind", "open"]


@catalog_docs(
    "review decision",
    {
        "id": 5,
        "review": 2,
        "week": "2026-W47",
        "rule": 7,
        "alertname": "ModelLatencyHigh",
        "kind": "tune",
        "note": "Raise the threshold to 400 ms.",
        "owner": "alice",
        "due_date": "2026-11-30",
        "done_at": None,
    },
    writable=False,
    note=REVIEW_NOTE,
)
class DecisionViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = DecisionSerializer
    permission_classes = [ReadOnlyCatalogAccess]
    filterset_class = DecisionFilter
    ordering_fields = ["decided_at", "week", "due_date"]
    queryset = Decision.objects.select_related("rule", "owner", "decided_by", "reassign_to")

    @extend_schema(
        summary="The rule-file patch of a review week",
        parameters=[
            OpenApiParameter("week", str, required=True, description="ISO week, 2027-W06"),
            OpenApiParameter("team", str, required=False, description="team slug"),
        ],
        responses={200: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "A week's patch",
                response_only=True,
                value={
                    "week": "2027-W06",
                    "team": "fraud-ml",
                    "files": ["rules/fraud.yml"],
                    "diff": "diff --git a/rules/fraud.yml b/rules/fraud.yml\n"
                    "--- a/rules/fraud.yml\n+++ b/rules/fraud.yml\n@@ -20,4 +20,5 @@\n ...",
                    "included": [12, 13],
                    "skipped": [
                        {"decision": 14, "reason": "the rule was not imported from a file"}
                    ],
                },
            )
        ],
    )
    @action(detail=False, methods=["get"], url_path="patch", filterset_class=None)
    def patch(self, request: Request) -> Response:
        """The week's prune, retire and tune decisions as a unified diff (`git apply`), with
        the decisions it carries out and those it cannot (and why)."""
        week = request.query_params.get("week", "")
        try:
            parse_week(week)
        except ValueError as error:
            raise ValidationError({"week": str(error)}) from None
        slug = request.query_params.get("team") or ""
        team = Team.objects.filter(slug=slug).first() if slug else None
        if slug and team is None:
            raise ValidationError({"team": f"There is no team {slug!r}."})
        result = review_patch(week=week, team=team)
        return Response(
            {
                "week": week,
                "team": slug or None,
                "files": result.files,
                "diff": result.diff,
                "included": [d.pk for d in result.included],
                "skipped": [{"decision": d.pk, "reason": why} for d, why in result.skipped],
            }
        )


class WaiverFilter(django_filters.FilterSet):
    check = django_filters.CharFilter(field_name="lint_check")
    active = django_filters.BooleanFilter(method="filter_active")

    class Meta:
        model = Waiver
        fields = ["alertname", "check", "active"]

    def filter_active(self, queryset: QuerySet[Waiver], name: str, value: bool) -> QuerySet[Waiver]:
        active = Waiver.objects.active().values("pk")
        return queryset.filter(pk__in=active) if value else queryset.exclude(pk__in=active)


@catalog_docs(
    "lint waiver",
    {
        "id": 1,
        "alertname": "FeatureDriftHigh",
        "check": "runbook_url",
        "reason": "Runbook being written this sprint (JIRA ML-42).",
        "approver": "alice",
        "expires_at": "2026-12-31T00:00:00Z",
        "active": True,
    },
    write_rule="Needs staff or a fleet-wide write token: a waiver lets an alert past the gate.",
    note="An active waiver turns a lint violation of that alert and check into `waived`; once "
    "it expires the violation fails again.",
)
class WaiverViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = WaiverSerializer
    permission_classes = [FleetAdminWrites]
    filterset_class = WaiverFilter
    ordering_fields = ["alertname", "expires_at", "created_at"]
    queryset = Waiver.objects.select_related("approver")
