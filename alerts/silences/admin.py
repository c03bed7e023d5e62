"""Admin of the silence ledger: read-only silences and events (Alertmanager is the source),
editable team enforcement."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.silences.models import Silence, SilenceEvent, TeamSilenceEnforcement


class SilenceEventInline(admin.TabularInline[SilenceEvent, Silence]):
    model = SilenceEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "reason", "detail"]
    readonly_fields = ["at", "kind", "actor", "reason", "detail"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin[Silence]):
    list_display = ["alertmanager_id", "matchers_display", "created_by", "state", "ends_at"]
    list_filter = ["state"]
    search_fields = ["alertmanager_id", "created_by", "comment"]
    inlines = [SilenceEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TeamSilenceEnforcement)
class TeamSilenceEnforcementAdmin(admin.ModelAdmin[TeamSilenceEnforcement]):
    list_display = ["team", "mode", "updated_at", "updated_by"]
    list_filter = ["mode"]
    readonly_fields = ["updated_at", "updated_by"]
