from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import Waiver


@admin.register(Waiver)
class WaiverAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["alertname", "lint_check", "approver", "expires_at", "created_at"]
    list_filter = ["lint_check"]
    search_fields = ["alertname", "reason"]
    raw_id_fields = ["approver"]

    def save_model(self, request: HttpRequest, obj: Waiver, form: Any, change: bool) -> None:
        # Whoever grants the waiver in the admin is its approver unless one was chosen.
        if obj.approver_id is None and request.user.is_authenticated:
            obj.approver = request.user
        super().save_model(request, obj, form, change)
