"""Admin for SLOs (saved through `slo_save`, so the generated alerts are catalogued) and the
read-only scorecard snapshots. Imported from FleetConfig.ready()."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from fleet_coverage.models import SLO, ScorecardSnapshot
from fleet_coverage.slo.services import slo_delete, slo_save

# ModelAdmin is generic only for the type checker (django-stubs), not at runtime.
if TYPE_CHECKING:
    SLOAdminBase = admin.ModelAdmin[SLO]
    SnapshotAdminBase = admin.ModelAdmin[ScorecardSnapshot]
else:
    SLOAdminBase = SnapshotAdminBase = admin.ModelAdmin


@admin.register(SLO)
class SLOAdmin(SLOAdminBase):
    list_display = ("name", "system", "objective", "window_days", "layer", "owner_team")
    list_filter = ("window_days", "layer", "owner_team")
    search_fields = ("name", "slug", "system__slug", "system__name")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("system", "owner_team")
    fieldsets = (
        (None, {"fields": ("system", "name", "slug", "description")}),
        (
            "SLI (PromQL with $window): good and total events, or one ratio",
            {"fields": ("good_query", "total_query", "ratio_query")},
        ),
        (None, {"fields": ("objective", "window_days", "layer", "owner_team", "runbook")}),
    )

    def save_model(
        self, request: HttpRequest, obj: SLO, form: ModelForm[SLO], change: bool
    ) -> None:
        slo_save(slo=obj)

    def delete_model(self, request: HttpRequest, obj: SLO) -> None:
        slo_delete(slo=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SLO]) -> None:
        for slo in queryset.select_related("system"):
            slo_delete(slo=slo)


@admin.register(ScorecardSnapshot)
class ScorecardSnapshotAdmin(SnapshotAdminBase):
    list_display = ("system", "week", "score", "taken_at")
    list_filter = ("week",)
    list_select_related = ("system",)
    readonly_fields = ("system", "week", "score", "missing", "taken_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
