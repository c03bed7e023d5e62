"""Admin: actions with write-only secrets; runs, events and the switch read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from alerts.automation import guardrails, rendering, services
from alerts.automation.models import Action, ActionRun, AutomationEvent, AutomationSwitch


class ActionAdminForm(forms.ModelForm[Action]):
    # Write-only: never filled in from the stored value (render_value=False), empty keeps it.
    signing_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HMAC-SHA256 signing key. Leave empty to keep the stored one; never shown.",
    )
    bearer_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Optional Authorization: Bearer token. Leave empty to keep; never shown.",
    )

    class Meta:
        model = Action
        fields = [
            "team",
            "runbook",
            "step",
            "name",
            "description",
            "risk",
            "method",
            "url",
            "headers",
            "body_template",
            "timeout_seconds",
            "expected_status",
            "verify_resolution_seconds",
            "trigger",
            "auto_delay_seconds",
            "label_filter",
            "max_runs_per_hour",
            "max_concurrent",
            "cooldown_seconds",
            "dry_run_remaining",
            "disabled",
            "disabled_reason",
        ]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        refusal = guardrails.host_refusal(url)
        if refusal is not None:
            raise forms.ValidationError(refusal.message)
        return url

    def clean_body_template(self) -> str:
        template: str = self.cleaned_data["body_template"]
        try:
            rendering.template_check(template)
        except rendering.RenderError as error:
            raise forms.ValidationError(str(error)) from None
        return template

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("signing_key"):
            self.add_error("signing_key", "A new action needs a signing key.")
        return cleaned


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin[Action]):
    form = ActionAdminForm
    list_display = ["name", "team", "runbook", "risk", "trigger", "dry_run_remaining", "disabled"]
    list_filter = ["risk", "trigger", "disabled", "team"]
    search_fields = ["name", "runbook__slug"]
    raw_id_fields = ["team", "runbook", "created_by", "updated_by"]
    readonly_fields = [
        "has_secret",
        "secret_set_at",
        "version",
        "consecutive_failures",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    ]

    @admin.display(boolean=True, description="Secret set")
    def has_secret(self, obj: Action) -> bool:
        return obj.has_secret

    def save_model(self, request: HttpRequest, obj: Action, form: Any, change: bool) -> None:
        services.action_save_from_admin(
            action=obj,
            user=request.user,
            changed_fields=list(form.changed_data),
            is_new=not change,
            signing_key=form.cleaned_data.get("signing_key") or "",
            bearer_token=form.cleaned_data.get("bearer_token") or "",
        )


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ActionRun)
class ActionRunAdmin(_ReadOnlyAdmin):
    list_display = ["id", "action", "episode", "attempt", "trigger", "state", "created_at"]
    list_filter = ["state", "trigger"]
    raw_id_fields = ["action", "episode", "requested_by", "approved_by"]


@admin.register(AutomationEvent)
class AutomationEventAdmin(_ReadOnlyAdmin):
    list_display = ["at", "kind", "action", "run", "actor_name", "guardrail", "message"]
    list_filter = ["kind", "guardrail"]
    raw_id_fields = ["action", "run", "episode", "actor"]


@admin.register(AutomationSwitch)
class AutomationSwitchAdmin(_ReadOnlyAdmin):
    list_display = ["__str__", "enabled", "breaker_tripped_at", "changed_at"]
