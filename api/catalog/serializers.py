from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from api.model_validation import ModelCleanSerializer
from fleet.models import AISystem, Membership, Team


class TeamSerializer(ModelCleanSerializer[Team]):
    leads = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = [
            "slug",
            "name",
            "timezone",
            "chat_channel",
            "chat_webhook_url",
            "email",
            "escalation_url",
            "leads",
            "created_at",
            "updated_at",
        ]
        # The chat webhook URL is a secret (anyone holding it can post to the channel).
        extra_kwargs = {"chat_webhook_url": {"write_only": True}}

    def get_leads(self, team: Team) -> list[str]:
        return [
            m.user.username
            for m in team.memberships.all()
            if m.role == Membership.Role.LEAD  # prefetched: no query per team
        ]


class MembershipSerializer(ModelCleanSerializer[Membership]):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())

    class Meta:
        model = Membership
        fields = ["id", "team", "user", "role", "joined_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        team = attrs.get("team", getattr(self.instance, "team", None))
        user = attrs.get("user", getattr(self.instance, "user", None))
        duplicate = Membership.objects.filter(team=team, user=user)
        if self.instance is not None:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise serializers.ValidationError(f"{user} is already a member of {team}.")
        return super().validate(attrs)


class AISystemSerializer(ModelCleanSerializer[AISystem]):
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = AISystem
        fields = [
            "slug",
            "name",
            "kind",
            "environment",
            "tier",
            "lifecycle",
            "owner_team",
            "business_owner",
            "description",
            "repository_url",
            "model_registry_url",
            "dashboard_url",
            "trace_url_template",
            "log_url_template",
            "created_at",
            "updated_at",
        ]
