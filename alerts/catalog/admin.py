"""Admin for the alert catalog: columns and filters show rules without owner or runbook."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from alerts.models import AlertRule
from fleet.admin import AISystemAdmin
from fleet.models import AISystem


def _missing(text: str) -> str:
    return format_html('<strong style="color:#b42318">{}</strong>', text)


class GapFilter(admin.SimpleListFilter):
    title = "gaps"
    parameter_name = "gap"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("no_owner", "No owner team"),
            ("no_members", "Owner team has no members"),
            ("no_runbook", "No runbook"),
            ("stale_runbook", "Stale runbook"),
            ("any", "Any of these"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        from alerts.catalog.ownership import owned_condition
        from runbooks.models import Runbook

        stale = Q(runbook__in=Runbook.objects.stale())
        gaps = {
            # Owner and "owned" as alerts.catalog.ownership defines them (system's team as
            # fallback).
            "no_owner": Q(owner_team__isnull=True, system__owner_team__isnull=True),
            "no_members": ~owned_condition()
            & ~Q(owner_team__isnull=True, system__owner_team__isnull=True),
            "no_runbook": Q(runbook__isnull=True),
            "stale_runbook": stale,
        }
        value = self.value()
        if value == "any":
            condition = Q()
            for q in gaps.values():
                condition |= q
            return queryset.filter(condition).distinct()
        if value in gaps:
            return queryset.filter(gaps[value]).distinct()
        return queryset


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin[AlertRule]):
    list_display = [
        "alertname",
        "matchers_key",
        "severity",
        "layer",
        "owner",
        "system",
        "runbook_state",
        "status",
        "catalogued",
    ]
    list_filter = [
        GapFilter,
        "owner_team",
        "layer",
        "severity",
        "status",
        "catalogued",
        "source",
    ]
    search_fields = ["alertname", "matchers_key", "summary", "expression"]
    autocomplete_fields = ["owner_team", "system", "runbook"]
    list_select_related = ["owner_team", "system", "runbook"]
    readonly_fields = ["matchers_key", "muted_at", "last_fired_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["alertname", "matchers", "matchers_key", "summary"]}),
        ("Classification", {"fields": ["severity", "layer", "source", "catalogued"]}),
        ("Ownership", {"fields": ["owner_team", "system", "runbook"]}),
        ("Status", {"fields": ["status", "muted_at", "muted_until"]}),
        ("Definition", {"fields": ["expression", "for_duration", "labels"]}),
        ("History", {"fields": ["last_fired_at", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Owner team", ordering="owner_team__name")
    def owner(self, obj: AlertRule) -> str:
        return str(obj.owner_team) if obj.owner_team else _missing("no owner")

    @admin.display(description="Runbook", ordering="runbook__title")
    def runbook_state(self, obj: AlertRule) -> str:
        if obj.runbook is None:
            return _missing("no runbook")
        if obj.runbook.is_stale():
            return format_html('{} <em style="color:#9a6700">(stale)</em>', obj.runbook.title)
        return obj.runbook.title


class AlertRuleInline(admin.TabularInline[AlertRule, AISystem]):
    model = AlertRule
    fk_name = "system"
    extra = 0
    show_change_link = True
    autocomplete_fields = ["owner_team", "runbook"]
    fields = ["alertname", "matchers", "severity", "layer", "owner_team", "runbook", "status"]


class AISystemWithRulesAdmin(AISystemAdmin):
    """The fleet app's system admin, with the system's alert rules inline (the fleet app sits
    below alerts, so the inline is added from here)."""

    inlines = [*AISystemAdmin.inlines, AlertRuleInline]


admin.site.unregister(AISystem)
admin.site.register(AISystem, AISystemWithRulesAdmin)
