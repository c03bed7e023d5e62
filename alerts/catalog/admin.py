"""Admin for the alert catalog: columns and filters show rules without owner or runbook."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from alerts.catalog.capture import rule_capture_authorize
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


class AlertRuleAdminForm(forms.ModelForm[AlertRule]):
    """Runs the capture check (alerts.catalog.capture) as the API does. Staff may take alerts
    from another team, but only knowingly: the form names the rules and asks to confirm."""

    # Set per request by `with_acting_user` (a form class cannot see the request).
    acting_user: Any = None

    take_over = forms.BooleanField(
        required=False,
        label="Take over alerts",
        help_text="Confirm that this rule may take alerts another team's rule catches today.",
    )

    class Meta:
        model = AlertRule
        # The admin's fieldsets and the inline's fields choose what is shown.
        fields = [
            "alertname",
            "matchers",
            "summary",
            "severity",
            "layer",
            "source",
            "catalogued",
            "owner_team",
            "system",
            "runbook",
            "status",
            "muted_until",
            "expression",
            "for_duration",
            "labels",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned  # the matchers or owner may be missing: nothing sound to compare
        before = copy.copy(self.instance) if self.instance.pk is not None else None
        rule = copy.copy(self.instance)
        for field in AlertRule._meta.concrete_fields:
            if field.name in cleaned:
                setattr(rule, field.name, cleaned[field.name])
        try:
            taken = rule_capture_authorize(user=self.acting_user, rule=rule, before=before)
        except PermissionDenied as refused:
            raise ValidationError(str(refused)) from refused
        if taken and not cleaned.get("take_over"):
            rules = "; ".join(conflict.describe() for conflict in taken)
            raise ValidationError(
                f"This rule would take alerts from {rules}: the rule with the most matchers "
                'wins an alert. Tick "Take over alerts" to confirm.'
            )
        return cleaned


def with_acting_user(form: type[forms.ModelForm[AlertRule]], request: HttpRequest) -> Any:
    """The form class, bound to the user whose consent the capture check asks for."""
    return type(form.__name__, (form,), {"acting_user": request.user})


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin[AlertRule]):
    form = AlertRuleAdminForm
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
        ("Ownership", {"fields": ["owner_team", "system", "runbook", "take_over"]}),
        ("Status", {"fields": ["status", "muted_at", "muted_until"]}),
        ("Definition", {"fields": ["expression", "for_duration", "labels"]}),
        ("History", {"fields": ["last_fired_at", "created_at", "updated_at"]}),
    ]

    def get_form(
        self,
        request: HttpRequest,
        obj: AlertRule | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        return with_acting_user(super().get_form(request, obj, change=change, **kwargs), request)

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
    form = AlertRuleAdminForm
    fields = [
        "alertname",
        "matchers",
        "severity",
        "layer",
        "owner_team",
        "runbook",
        "status",
        "take_over",
    ]

    def get_formset(self, request: HttpRequest, obj: AISystem | None = None, **kwargs: Any) -> Any:
        kwargs["form"] = with_acting_user(self.form, request)
        return super().get_formset(request, obj, **kwargs)


class AISystemWithRulesAdmin(AISystemAdmin):
    """The fleet app's system admin, with the system's alert rules inline (the fleet app sits
    below alerts, so the inline is added from here)."""

    inlines = [*AISystemAdmin.inlines, AlertRuleInline]


admin.site.unregister(AISystem)
admin.site.register(AISystem, AISystemWithRulesAdmin)
