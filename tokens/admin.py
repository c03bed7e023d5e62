"""Admin for integrations and tokens, through the token services (tokens.services).

A token's plain secret is shown once, in a message after it is created; only its prefix and
hash exist afterwards, and the hash is never displayed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tokens.models import ApiToken, Integration
from tokens.services import token_create, token_revoke


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "source", "owner_team", "created_at"]
    list_filter = ["source"]
    search_fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "scope", "prefix", "team", "integration", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = ["name", "scope", "team", "integration", "prefix", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = token_create(
            name=obj.name,
            scope=obj.scope,
            team=obj.team,
            integration=obj.integration,
            created_by=request.user,  # type: ignore[arg-type]
        )
        # The admin goes on with `obj` (log entry, redirect): make it the stored token.
        obj.pk = token.pk
        obj.refresh_from_db()
        obj._state.adding = False
        messages.warning(request, f"The token is shown only this once; copy it now: {raw}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        # One by one through token_revoke: its save clears the ownership endpoint's token cache.
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            token_revoke(token=token)
        self.message_user(request, f"Revoked {len(active)} token(s).")
