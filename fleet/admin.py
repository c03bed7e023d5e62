"""Admin for teams, memberships and AI systems: columns show what is missing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from fleet.models import AISystem, Membership, Team


def _missing(text: str) -> str:
    return format_html('<strong style="color:#b42318">{}</strong>', text)


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role", "joined_at"]
    readonly_fields = ["joined_at"]


class MembersFilter(admin.SimpleListFilter):
    title = "members"
    parameter_name = "members"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "No members"), ("some", "Has members")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "none":
            return queryset.filter(member_count=0)
        if self.value() == "some":
            return queryset.filter(member_count__gt=0)
        return queryset


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "slug", "timezone", "member_count", "members_state", "system_count"]
    list_filter = [MembersFilter, "timezone"]
    search_fields = ["name", "slug", "email", "chat_channel"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "timezone"]}),
        ("Contacts", {"fields": ["email", "chat_channel", "chat_webhook_url", "escalation_url"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("memberships", distinct=True),
                system_count=Count("systems", distinct=True),
            )
        )

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_count)

    @admin.display(description="Staffing")
    def members_state(self, obj: Any) -> str:
        # A team without members owns nothing in practice: its alerts count as unowned.
        return _missing("no members") if obj.member_count == 0 else "ok"

    @admin.display(description="Systems", ordering="system_count")
    def system_count(self, obj: Any) -> int:
        return int(obj.system_count)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name", "team__slug"]
    autocomplete_fields = ["team", "user"]
    list_select_related = ["team", "user"]


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "No owner team"), ("set", "Has an owner team")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "none":
            return queryset.filter(owner_team__isnull=True)
        if self.value() == "set":
            return queryset.filter(owner_team__isnull=False)
        return queryset


@admin.register(AISystem)
class AISystemAdmin(admin.ModelAdmin[AISystem]):
    list_display = [
        "name",
        "slug",
        "kind",
        "environment",
        "tier",
        "lifecycle",
        "owner",
        "rule_count",
        "rules_without_runbook",
    ]
    list_filter = [OwnerFilter, "kind", "tier", "lifecycle", "environment", "owner_team"]
    search_fields = ["name", "slug", "description", "business_owner"]
    autocomplete_fields = ["owner_team"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["owner_team"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "environment", "tier", "lifecycle"]}),
        ("Ownership", {"fields": ["owner_team", "business_owner", "description"]}),
        (
            "Links",
            {
                "fields": [
                    "repository_url",
                    "model_registry_url",
                    "dashboard_url",
                    "trace_url_template",
                    "log_url_template",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AISystem]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                rule_total=Count("alert_rules", distinct=True),
                rule_no_runbook=Count(
                    "alert_rules", filter=Q(alert_rules__runbook__isnull=True), distinct=True
                ),
            )
        )

    @admin.display(description="Owner team", ordering="owner_team__name")
    def owner(self, obj: AISystem) -> str:
        return str(obj.owner_team) if obj.owner_team else _missing("no owner")

    @admin.display(description="Rules", ordering="rule_total")
    def rule_count(self, obj: Any) -> int:
        return int(obj.rule_total)

    @admin.display(description="Rules without runbook", ordering="rule_no_runbook")
    def rules_without_runbook(self, obj: Any) -> str:
        count = int(obj.rule_no_runbook)
        return _missing(str(count)) if count else "0"
