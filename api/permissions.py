"""Who may call the catalog API (README "Auth and scopes"), written once for every view.

- Reads: a token with scope `read` or `write`, or any logged-in user. The catalog is visible
  fleet-wide to such callers; API tokens themselves are never exposed by the API.
- Writes: a `write` token or a logged-in user, AND the object's owning team must be one the
  caller may edit (`fleet.access.can_edit_team_object`): a member of the team, a token of that
  team, staff, or a fleet-wide write token. This holds on create (the team in the payload), on
  update (the current owner and the new one), on delete, and on related objects a payload
  attaches (a rule's runbook and system).
- `ingest` tokens only post alert webhooks: 403 everywhere in the catalog API.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from fleet.access import can_edit_team_object, is_fleet_admin
from tokens.models import ApiToken


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, QueryDict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.lists())
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def reject_nul_characters(request: Request) -> None:
    """NUL can never be stored (PostgreSQL refuses it in text and JSON): answer 400 up front
    instead of letting a lookup fail in the database with a 500."""
    raw = request._request
    if "\x00" in raw.path or _has_nul(request.query_params):
        raise ValidationError("NUL characters are not allowed in the URL.")
    if raw.method in ("POST", "PUT", "PATCH") and _has_nul(request.data):
        raise ValidationError("NUL characters are not allowed in the body.")


def request_token(request: Request) -> ApiToken | None:
    token = getattr(request.user, "token", None)
    return token if isinstance(token, ApiToken) else None


class CatalogAccess(permissions.BasePermission):
    """Scope check on every request; team ownership on objects (`owner_team_id` by default).

    Views name the team of an object with `team_id_of(obj)` when it is not `owner_team_id`.
    """

    message = "Your credentials do not allow this operation."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        reject_nul_characters(request)
        token = request_token(request)
        if token is None:
            return True
        if request.method in permissions.SAFE_METHODS:
            return token.allows(ApiToken.Scope.READ)
        return token.allows(ApiToken.Scope.WRITE)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        team_id_of = getattr(view, "team_id_of", None)
        team_id = team_id_of(obj) if team_id_of else obj.owner_team_id
        return can_edit_team_object(request.user, team_id)


class FleetAdminWrites(CatalogAccess):
    """Reads as above; writes only by staff or a fleet-wide write token (e.g. waivers)."""

    message = "Only staff or a fleet-wide write token may change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or is_fleet_admin(request.user)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return True


class ReadOnlyCatalogAccess(CatalogAccess):
    """For read-only endpoints: same read rule; unsafe methods never reach here (405)."""


class ReadScope(CatalogAccess):
    """For POST endpoints that only read (batch ownership, lint): a `read` token is enough."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        reject_nul_characters(request)
        token = request_token(request)
        return token is None or token.allows(ApiToken.Scope.READ)
