from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.catalog.ownership import AlertQuery, ownership_resolve_many
from api.permissions import ReadScope
from tokens.auth_cache import CachedBearerTokenAuthentication

MAX_BATCH = 5000

OWNED_EXAMPLE: dict[str, Any] = {
    "alertname": "ModelLatencyHigh",
    "labels": {"model": "fraud-scorer", "env": "prod"},
    "status": "owned",
    "rule": {
        "id": 7,
        "alertname": "ModelLatencyHigh",
        "matchers": {"model": "fraud-scorer"},
        "severity": "page",
        "layer": "infra",
        "status": "active",
    },
    "team": {
        "slug": "fraud-ml",
        "name": "Fraud ML",
        "chat_channel": "#fraud-ml-oncall",
        "email": "fraud-ml@example.com",
        "escalation_url": "https://pager.example.com/policies/fraud-ml",
        "timezone": "Europe/Berlin",
    },
    "leads": [{"username": "alice", "name": "Alice Martin"}],
    "system": {
        "slug": "fraud-scorer",
        "name": "Fraud scorer",
        "kind": "model",
        "environment": "prod",
        "tier": "critical",
    },
    "runbook_url": "https://steward.example.com/runbooks/for/ModelLatencyHigh/?env=prod&model=fraud-scorer",
    "runbook_slug": "fraud-scorer-latency",
    "stale": False,
    "candidates": [],
    "matched_by": {
        "rule": 7,
        "matchers": {"model": "fraud-scorer"},
        "reason": "most_specific",
        "explanation": "The most specific rule whose matchers all hold: its matchers include "
        "those of every other rule the labels fit (#3).",
        "outranks": [3],
        "owner_from": "rule",
    },
}
UNCATALOGUED_EXAMPLE: dict[str, Any] = {
    "alertname": "SomethingNew",
    "labels": {},
    "status": "uncatalogued",
    "rule": None,
    "team": None,
    "leads": [],
    "system": None,
    "runbook_url": "https://steward.example.com/runbooks/for/SomethingNew/",
    "runbook_slug": None,
    "stale": None,
    "candidates": [],
    "matched_by": None,
}
AMBIGUOUS_EXAMPLE: dict[str, Any] = {
    **UNCATALOGUED_EXAMPLE,
    "alertname": "ModelLatencyHigh",
    "labels": {"env": "prod"},
    "status": "ambiguous",
    "runbook_url": "https://steward.example.com/runbooks/for/ModelLatencyHigh/?env=prod",
    "candidates": [
        {
            "id": 7,
            "alertname": "ModelLatencyHigh",
            "matchers": {"model": "fraud-scorer"},
            "severity": "page",
            "team": {"slug": "fraud-ml", "name": "Fraud ML"},
            "owned": True,
            "runbook_slug": "fraud-scorer-latency",
            "runbook_url": "https://steward.example.com/runbooks/for/ModelLatencyHigh/?model=fraud-scorer",
            "firing": 2,
        },
        {
            "id": 9,
            "alertname": "ModelLatencyHigh",
            "matchers": {"model": "churn-predictor"},
            "severity": "warning",
            "team": None,
            "owned": False,
            "runbook_slug": None,
            "runbook_url": "https://steward.example.com/runbooks/for/ModelLatencyHigh/?model=churn-predictor",
            "firing": 0,
        },
    ],
}


class _Rule(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    alertname = serializers.CharField()
    matchers = serializers.DictField(child=serializers.CharField())
    severity = serializers.CharField()
    layer = serializers.CharField()
    status = serializers.CharField()


class _CandidateTeam(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()


class _Candidate(serializers.Serializer[Any]):
    """A rule the labels do not rule out, for a person to pick from."""

    id = serializers.IntegerField()
    alertname = serializers.CharField()
    matchers = serializers.DictField(child=serializers.CharField())
    severity = serializers.CharField()
    team = _CandidateTeam(allow_null=True, help_text="Owner: the rule's team, else its system's.")
    owned = serializers.BooleanField(help_text="The owner team exists and has members.")
    runbook_slug = serializers.CharField(allow_null=True)
    runbook_url = serializers.URLField(help_text="The on-call page with this rule's labels.")
    firing = serializers.IntegerField(help_text="Episodes of this rule firing now.")


class _MatchedBy(serializers.Serializer[Any]):
    """Why this rule answers (documentation only)."""

    rule = serializers.IntegerField(help_text="The id of the rule that answers.")
    matchers = serializers.DictField(child=serializers.CharField())
    reason = serializers.ChoiceField(
        choices=["only_candidate", "most_specific"],
        help_text=(
            "`only_candidate`: the only rule with this alertname whose matchers the labels do "
            "not contradict; `most_specific`: the most specific rule whose matchers all hold, "
            "its matchers including those of every other rule the labels fit. Deliveries use "
            "the same order: the rule with the most matchers wins an alert (ties: the older)."
        ),
    )
    explanation = serializers.CharField(help_text="The reason in words.")
    outranks = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the other rules the labels fit."
    )
    owner_from = serializers.ChoiceField(
        choices=["rule", "system"],
        allow_null=True,
        help_text="The team is the rule's own (`rule`), else its system's (`system`); null "
        "when neither has one.",
    )


class OwnershipSerializer(serializers.Serializer[Any]):
    """Output of the ownership check (documentation only: built by alerts.catalog.ownership)."""

    alertname = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    status = serializers.ChoiceField(
        choices=["owned", "unowned", "ambiguous", "uncatalogued"],
        help_text=(
            "`owned`: one rule fits and its owner team (the rule's, else its system's) has "
            "members; `unowned`: one rule fits but no team with members owns it; `ambiguous`: "
            "several rules share the alertname and the labels given do not tell them apart "
            "(see `candidates`); `uncatalogued`: no rule fits (`candidates` lists the rules "
            "with this alertname, if any, whose matchers the labels contradict)."
        ),
    )
    rule = _Rule(allow_null=True)
    team = serializers.DictField(allow_null=True)
    leads = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    system = serializers.DictField(allow_null=True)
    runbook_url = serializers.URLField()
    runbook_slug = serializers.CharField(allow_null=True)
    stale = serializers.BooleanField(allow_null=True)
    candidates = _Candidate(many=True, help_text="Firing ones matter first; empty when one fits.")
    matched_by = _MatchedBy(allow_null=True, help_text="Which rule answers and why; null if none.")


class BatchItemSerializer(serializers.Serializer[Any]):
    alertname = serializers.CharField(max_length=200)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class BatchSerializer(serializers.Serializer[Any]):
    alerts = serializers.ListField(child=BatchItemSerializer(), max_length=MAX_BATCH)


class OwnershipView(APIView):
    # The hot path: cached token lookups (see tokens.auth_cache for the trade-off).
    authentication_classes = [CachedBearerTokenAuthentication, SessionAuthentication]
    permission_classes = [ReadScope]

    @extend_schema(
        operation_id="ownership_lookup",
        summary="Who owns this alert?",
        description=(
            "Resolves an alert (its alertname plus label values as query parameters; an "
            "empty value counts as absent) to a catalog rule, and answers with the owner "
            "team (the rule's, else its system's) and its contacts, leads, system, the "
            "on-call runbook URL and whether the runbook is stale. A rule fits unless a "
            "given label contradicts its matchers; when several fit, the most specific one "
            "whose matchers all hold answers if it includes the others' matchers, else the "
            "status is `ambiguous` and `candidates` lists them (owner, matchers, runbook, "
            "firing now). `matched_by` says which rule answered and why. An unknown "
            "alertname answers 200 with status `uncatalogued`. Needs a `read` token (or `write`) "
            "or a logged-in user."
        ),
        parameters=[
            OpenApiParameter("alertname", str, required=True, description="The alert's name."),
            OpenApiParameter(
                "labels",
                OpenApiTypes.OBJECT,
                style="form",
                explode=True,
                required=False,
                description="Any other query parameter is a label, e.g. `model=fraud-scorer`.",
            ),
        ],
        responses={200: OwnershipSerializer},
        examples=[
            OpenApiExample("Owned", value=OWNED_EXAMPLE, response_only=True),
            OpenApiExample("Ambiguous", value=AMBIGUOUS_EXAMPLE, response_only=True),
            OpenApiExample("Uncatalogued", value=UNCATALOGUED_EXAMPLE, response_only=True),
        ],
    )
    def get(self, request: Request) -> Response:
        labels = {key: request.query_params[key] for key in request.query_params}
        alertname = labels.pop("alertname", "").strip()
        if not alertname:
            raise serializers.ValidationError({"alertname": ["This query parameter is required."]})
        return Response(ownership_resolve_many([AlertQuery(alertname, labels)])[0])

    @extend_schema(
        operation_id="ownership_batch",
        summary="Who owns these alerts? (batch)",
        description=(
            f"The same answer for up to {MAX_BATCH} alerts at once, in the order given, with a "
            "constant number of database queries. Needs a `read` token (or `write`) or a "
            "logged-in user."
        ),
        request=BatchSerializer,
        responses={
            200: inline_serializer(
                "OwnershipBatchResult", {"results": OwnershipSerializer(many=True)}
            )
        },
        examples=[
            OpenApiExample(
                "Two alerts",
                value={
                    "alerts": [
                        {"alertname": "ModelLatencyHigh", "labels": {"model": "fraud-scorer"}},
                        {"alertname": "SomethingNew", "labels": {}},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "Answers",
                value={"results": [OWNED_EXAMPLE, UNCATALOGUED_EXAMPLE]},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        batch = BatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        queries = [
            AlertQuery(item["alertname"], item.get("labels") or {})
            for item in batch.validated_data["alerts"]
        ]
        return Response({"results": ownership_resolve_many(queries)})
