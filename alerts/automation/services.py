"""Writes of runbook automation (filled in by the next commit)."""

from __future__ import annotations

from typing import Any

from alerts.automation.models import Action


def action_save_from_admin(
    *,
    action: Action,
    user: Any,
    changed_fields: list[str],
    is_new: bool,
    signing_key: str,
    bearer_token: str,
) -> None:
    action.save()
