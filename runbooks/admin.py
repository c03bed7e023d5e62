"""Admin for runbooks; every save goes through runbook_save so that a revision is written."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from runbooks.models import Runbook, RunbookRevision
from runbooks.services import runbook_mark_reviewed, runbook_save


class RevisionInline(admin.TabularInline[RunbookRevision, Runbook]):
    model = RunbookRevision
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["created_at", "author", "title", "note"]
    readonly_fields = ["created_at", "author", "title", "note"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StaleFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("stale", "Stale (overdue or never reviewed)"), ("fresh", "Fresh")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "stale":
            return queryset.filter(pk__in=Runbook.objects.stale())
        if self.value() == "fresh":
            return queryset.filter(pk__in=Runbook.objects.fresh())
        return queryset


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin[Runbook]):
    list_display = ["title", "slug", "owner", "last_reviewed_at", "review_due_at", "freshness"]
    list_display += ["rule_count"]
    list_filter = [StaleFilter, "owner_team"]
    search_fields = ["title", "slug", "body"]
    autocomplete_fields = ["owner_team"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["owner_team"]
    readonly_fields = ["review_due_at", "created_at", "updated_at"]
    fields = [
        "title",
        "slug",
        "owner_team",
        "body",
        "last_reviewed_at",
        "review_interval_days",
        "review_due_at",
        "created_at",
        "updated_at",
    ]
    inlines = [RevisionInline]
    actions = ["mark_reviewed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Runbook]:
        return super().get_queryset(request).annotate(rule_total=Count("alert_rules"))

    def save_model(
        self, request: HttpRequest, obj: Runbook, form: ModelForm[Runbook], change: bool
    ) -> None:
        # A review date typed in the form wins over "editing the text is a review".
        typed = "last_reviewed_at" in form.changed_data
        explicit = {"last_reviewed_at": obj.last_reviewed_at} if typed else {}
        runbook_save(runbook=obj, author=request.user, note="Edited in the admin", **explicit)

    @admin.display(description="Owner team", ordering="owner_team__name")
    def owner(self, obj: Runbook) -> str:
        if obj.owner_team is None:
            return format_html('<strong style="color:#b42318">{}</strong>', "no owner")
        return str(obj.owner_team)

    @admin.display(description="Review")
    def freshness(self, obj: Runbook) -> str:
        if obj.last_reviewed_at is None:
            return format_html('<strong style="color:#b42318">{}</strong>', "never reviewed")
        if obj.is_stale():
            return format_html('<strong style="color:#9a6700">{}</strong>', "stale")
        return "fresh"

    @admin.display(description="Rules", ordering="rule_total")
    def rule_count(self, obj: Any) -> int:
        return int(obj.rule_total)

    @admin.action(description="Mark selected runbooks as reviewed now")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Runbook]) -> None:
        for runbook in queryset:
            runbook_mark_reviewed(runbook=runbook)
        self.message_user(
            request, f"{queryset.count()} runbook(s) marked reviewed.", messages.SUCCESS
        )


@admin.register(RunbookRevision)
class RunbookRevisionAdmin(admin.ModelAdmin[RunbookRevision]):
    """Revisions are history: they can be read, never written by hand."""

    list_display = ["runbook", "created_at", "author", "note"]
    list_filter = ["runbook__owner_team"]
    search_fields = ["runbook__title", "runbook__slug", "note", "body"]
    list_select_related = ["runbook", "author"]
    readonly_fields = ["runbook", "title", "body", "author", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
