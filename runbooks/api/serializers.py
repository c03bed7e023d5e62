from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from fleet.models import Team
from runbooks.models import Runbook
from runbooks.rendering import render_runbook_html
from runbooks.services import runbook_save


class RunbookSerializer(serializers.ModelSerializer[Runbook]):
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )
    stale = serializers.SerializerMethodField()
    rendered_html = serializers.SerializerMethodField()

    class Meta:
        model = Runbook
        fields = [
            "slug",
            "title",
            "owner_team",
            "body",
            "rendered_html",
            "last_reviewed_at",
            "review_interval_days",
            "review_due_at",
            "stale",
            "created_at",
            "updated_at",
        ]

    def get_stale(self, runbook: Runbook) -> bool:
        return runbook.is_stale()

    def get_rendered_html(self, runbook: Runbook) -> str:
        """Markdown rendered and sanitized (nh3): safe to embed."""
        return render_runbook_html(runbook.body)

    def _save(self, runbook: Runbook, data: dict[str, Any]) -> Runbook:
        # Every write goes through runbook_save so that the revision history stays complete.
        request = self.context["request"]
        user = request.user
        author = user if isinstance(user, User) else getattr(user.token, "created_by", None)
        try:
            return runbook_save(runbook=runbook, author=author, note="API", **data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error

    def create(self, validated_data: dict[str, Any]) -> Runbook:
        return self._save(Runbook(), validated_data)

    def update(self, instance: Runbook, validated_data: dict[str, Any]) -> Runbook:
        return self._save(instance, validated_data)
