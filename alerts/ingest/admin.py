"""Admin for deliveries and episodes (read-only: they are what senders told us)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import Delivery, Episode


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = [
        "id",
        "source",
        "integration",
        "outcome",
        "received_at",
        "alerts_count",
        "opened_count",
        "closed_count",
        "duplicate_count",
        "truncated_alerts",
    ]
    list_filter = ["source", "outcome"]
    search_fields = ["error", "group_key"]
    date_hierarchy = "received_at"
    list_select_related = ["integration"]


@admin.register(Episode)
class EpisodeAdmin(_ReadOnly):
    list_display = [
        "id",
        "rule",
        "fingerprint",
        "starts_at",
        "ends_at",
        "source",
        "system",
        "notification_count",
    ]
    list_filter = ["source", ("ends_at", admin.EmptyFieldListFilter)]
    search_fields = ["fingerprint", "rule__alertname"]
    list_select_related = ["rule", "system"]
    raw_id_fields = ["rule", "system", "first_delivery"]
