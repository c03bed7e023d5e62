"""Read-only API of runbook automation: actions (never their secret) and runs, team-scoped
(members see their teams' actions and runs; staff and fleet-wide tokens see all)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from alerts.automation import pages
from alerts.automation.models import Action, ActionRun
from api.permissions import ReadOnlyCatalogAccess


class ActionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    runbook: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = Action
        # Explicit: secret_ciphertext is never listed.
        fields = [
            "id", "team", "runbook", "step", "name", "description", "risk", "method", "url",
            "headers", "body_template", "has_secret", "timeout_seconds", "expected_status",
            "verify_resolution_seconds", "trigger", "auto_delay_seconds", "label_filter",
            "max_runs_per_hour", "max_concurrent", "cooldown_seconds", "dry_run_remaining",
            "disabled", "disabled_reason", "disabled_at", "consecutive_failures", "version",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActionRunSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    approved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = ActionRun
        # `request` is stored with its secrets masked.
        fields = [
            "id", "action", "action_version", "episode", "attempt", "trigger", "state",
            "requested_by", "approved_by", "break_glass_reason", "guardrail", "refusal",
            "request", "response_status", "response_excerpt", "duration_ms", "tries", "outcome",
            "verification", "created_at", "queued_at", "started_at", "finished_at", "verified_at",
        ]  # fmt: skip
        read_only_fields = fields


SCOPE = (
    "Read-only. Team-scoped: members see their teams' actions and runs; staff and fleet-wide "
    "tokens see all."
)
ACTION_EXAMPLE = {
    "id": 1,
    "team": "fraud-ml",
    "runbook": "fraud-latency",
    "name": "Shift traffic to the fallback model",
    "risk": "low",
    "method": "POST",
    "url": "https://router.example.com/fallback",
    "has_secret": True,
    "trigger": "automatic",
    "max_runs_per_hour": 6,
    "dry_run_remaining": 0,
    "disabled": False,
}
RUN_EXAMPLE = {
    "id": 7,
    "action": 1,
    "episode": 42,
    "attempt": 1,
    "trigger": "automatic",
    "state": "succeeded",
    "request": {"method": "POST", "headers": {"X-Steward-Signature": "sha256=********"}},
    "response_status": 200,
    "verification": "resolved",
}


def _docs(noun: str, example: dict[str, Any], note: str = "") -> Any:
    sample = [OpenApiExample(f"A {noun}", value=example, response_only=True)]
    return extend_schema_view(
        list=extend_schema(description=f"List {noun}s (paginated). {SCOPE}{note}", examples=sample),
        retrieve=extend_schema(description=f"One {noun}. {SCOPE}", examples=sample),
    )


@_docs("automation action", ACTION_EXAMPLE, " The signing key and token are never shown.")
class ActionViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = ActionSerializer
    permission_classes = [ReadOnlyCatalogAccess]

    def get_queryset(self) -> QuerySet[Action]:
        return pages.actions_visible(self.request.user).order_by("id")


@_docs("automation run", RUN_EXAMPLE, " Filters: action, episode, state. Secrets masked.")
class ActionRunViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = ActionRunSerializer
    permission_classes = [ReadOnlyCatalogAccess]

    def get_queryset(self) -> QuerySet[ActionRun]:
        runs = pages.runs_visible(self.request.user).select_related("requested_by", "approved_by")
        params: Any = self.request.query_params
        for name in ("action", "episode", "state"):
            value = params.get(name)
            if value:
                if name != "state" and not value.isdigit():
                    return runs.none()
                runs = runs.filter(**{name: value})
        return runs.order_by("-created_at", "-id")
