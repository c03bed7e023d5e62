from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from alerts.models import (
    AlertRule,
    Decision,
    Episode,
    LintCheck,
    Review,
    RuleFlag,
    RuleWeek,
    Waiver,
)
from api.model_validation import ModelCleanSerializer
from fleet.models import AISystem, Team
from runbooks.models import Runbook


class AlertRuleSerializer(ModelCleanSerializer[AlertRule]):
    """Validated by AlertRule.clean (full_clean), the checks the admin runs."""

    owner_team: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )
    system: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", queryset=AISystem.objects.all(), allow_null=True, required=False
    )
    runbook: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", queryset=Runbook.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "alertname",
            "matchers",
            "severity",
            "layer",
            "owner_team",
            "system",
            "runbook",
            "status",
            "muted_at",
            "muted_until",
            "source",
            "expression",
            "for_duration",
            "summary",
            "labels",
            "catalogued",
            "last_fired_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["catalogued", "last_fired_at"]

    def validate_labels(self, value: Any) -> Any:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError("Labels are a JSON object of strings.")
        return value


class EpisodeSerializer(serializers.ModelSerializer[Episode]):
    alertname = serializers.CharField(source="rule.alertname", read_only=True)
    system: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    state = serializers.SerializerMethodField()

    class Meta:
        model = Episode
        fields = [
            "id",
            "rule",
            "alertname",
            "fingerprint",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "state",
            "source",
            "system",
            "generator_url",
            "last_notified_at",
            "notification_count",
        ]

    def get_state(self, episode: Episode) -> str:
        return "open" if episode.ends_at is None else "resolved"


class _PerRuleSerializer(serializers.ModelSerializer[Any]):
    """Rows about one rule (weekly statistics, flags) name its alert and owner team."""

    alertname = serializers.CharField(source="rule.alertname", read_only=True)
    team: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        source="rule.owner_team", slug_field="slug", read_only=True, allow_null=True
    )


class RuleWeekSerializer(_PerRuleSerializer):
    class Meta:
        model = RuleWeek
        fields = [
            "id",
            "rule",
            "alertname",
            "team",
            "week",
            "fires",
            "firing_seconds",
            "median_duration_seconds",
            "engaged_ratio",
            "transient_ratio",
            "flaps",
            "interruptions_business",
            "interruptions_off",
            "interruptions_sleep",
            "feedback_count",
            "actionable_ratio",
            "longest_open_seconds",
            "evaluated_at",
        ]


class RuleFlagSerializer(_PerRuleSerializer):
    class Meta:
        model = RuleFlag
        fields = [
            "id",
            "rule",
            "alertname",
            "team",
            "week",
            "flag",
            "evidence",
            "message",
            "created_at",
        ]


class DecisionSerializer(serializers.ModelSerializer[Decision]):
    alertname = serializers.CharField(source="rule.alertname", read_only=True)
    owner: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    reassign_to: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Decision
        fields = [
            "id",
            "review",
            "week",
            "rule",
            "alertname",
            "kind",
            "note",
            "owner",
            "due_date",
            "mute_until",
            "reassign_to",
            "decided_by",
            "decided_at",
            "done_at",
            "proposed_change",
            "undone_at",
            "superseded_by",
            "silence_id",
            "silence_state",
            "silence_error",
            "carried_out_at",
            "carried_out_note",
        ]


class ReviewSerializer(serializers.ModelSerializer[Review]):
    team: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    attendees: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True
    )
    decisions: serializers.RelatedField[Any, Any, Any] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "week",
            "team",
            "attendees",
            "notes",
            "agenda",
            "started_at",
            "closed_at",
            "created_at",
            "decisions",
        ]


class WaiverSerializer(ModelCleanSerializer[Waiver]):
    check = serializers.ChoiceField(source="lint_check", choices=LintCheck.choices)
    approver: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Defaults to the logged-in user, or the user who created the token.",
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = Waiver
        fields = [
            "id",
            "alertname",
            "check",
            "reason",
            "approver",
            "expires_at",
            "active",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def get_active(self, waiver: Waiver) -> bool:
        return waiver.is_active()

    def validate_reason(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Say why the exception is acceptable.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and attrs.get("approver") is None:
            user = self.context["request"].user
            approver = user if isinstance(user, User) else user.token.created_by
            if approver is None:
                raise serializers.ValidationError(
                    {"approver": ["Name the approving user (this token has no creator)."]}
                )
            attrs["approver"] = approver
        return attrs
