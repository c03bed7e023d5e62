"""The base of every writable catalog viewset: ownership checked on the payload, not only on
the object, so nobody can create an object for another team or move one to it."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from api.permissions import CatalogAccess
from fleet.access import can_edit_team_object


class OwnedModelViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    permission_classes = [CatalogAccess]
    # The payload field naming the owning Team; None when the object is a team itself.
    team_field: str | None = "owner_team"
    # Other owned objects a payload may attach (e.g. a rule's runbook): the caller must be
    # allowed to edit them too, or one team could hijack another's runbook.
    related_owned: tuple[str, ...] = ()

    def team_id_of(self, obj: Any) -> int | None:
        return obj.owner_team_id  # type: ignore[no-any-return]

    def authorize_payload(self, data: dict[str, Any], instance: Model | None) -> None:
        user = self.request.user
        if self.team_field is not None and (instance is None or self.team_field in data):
            team = data.get(self.team_field)
            team_id = team.pk if team is not None else None
            moved = instance is None or team_id != self.team_id_of(instance)
            if moved and not can_edit_team_object(user, team_id):
                target = team.slug if team is not None else "no team"
                raise PermissionDenied(
                    f"You may not create or move an object to {target}: you are not a member "
                    "of that team (unowned objects need staff or a fleet-wide token)."
                )
        for field in self.related_owned:
            related = data.get(field)
            if related is None:
                continue
            unchanged = instance is not None and getattr(instance, f"{field}_id") == related.pk
            if not unchanged and not can_edit_team_object(user, related.owner_team_id):
                raise PermissionDenied(
                    f"You may not attach {field} {related}: it belongs to another team."
                )

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self.authorize_payload(dict(serializer.validated_data), None)
        serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self.authorize_payload(dict(serializer.validated_data), serializer.instance)
        serializer.save()
