"""Write side of the weekly review: decisions and their effects, action items, the meeting."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.catalog.capture import rule_capture_authorize
from alerts.models import AlertRule, Decision, Review
from alerts.review.patches import PatchError, tune_change_validate
from alerts.review.selectors import agenda_items
from fleet.access import can_edit_or_claim, can_edit_team_object, team_ids_for_user
from fleet.models import Team

Kind = Decision.Kind


def can_decide(
    user: Any, rule: AlertRule, *, kind: str | None = None, reassign_to: Team | None = None
) -> bool:
    """Members of the rule's owning team and staff decide for it.

    An unowned rule has nobody to decide for it, so besides staff anyone may claim it for a
    team they belong to (a reassign to that team); any other decision needs staff. Without a
    `kind`: may the user decide anything for it (open the form, show the button)?
    """
    if kind is None:
        return can_edit_or_claim(user, rule.owner_team_id)
    if can_edit_team_object(user, rule.owner_team_id):
        return True
    return (
        rule.owner_team_id is None
        and kind == Kind.REASSIGN
        and reassign_to is not None
        and reassign_to.pk in team_ids_for_user(user)
    )


def can_run_review(user: Any, team: Team | None) -> bool:
    """A team's meeting is run by its members (or staff); the fleet-wide meeting by staff."""
    return can_edit_team_object(user, team.pk if team else None)


def _check_open(review: Review | None) -> None:
    if review is not None and review.closed_at is not None:
        raise ValidationError("This review is closed; its minutes are read-only.")


def _check_writable(user: Any, review: Review | None) -> None:
    """A team's minutes take decisions only from those who run its meeting, so the page's
    `?team=` cannot file a decision in another team's review. The fleet-wide review's agenda
    holds every team's rules: whoever may decide a rule may decide it there."""
    if review is not None and review.team is not None and not can_run_review(user, review.team):
        raise PermissionDenied(
            f"This decision would go into the minutes of {review.team.slug}'s review, which "
            "only its members (or staff) write. Decide from your own team's review page."
        )
    _check_open(review)


@transaction.atomic
def decision_record(
    *,
    user: User,
    rule: AlertRule,
    week: str,
    kind: str,
    review: Review | None = None,
    note: str = "",
    owner: User | None = None,
    due_date: date | None = None,
    mute_until: datetime | None = None,
    reassign_to: Team | None = None,
    proposed_change: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record a decision and apply its effect on the rule, in one transaction.

    prune/retire set the status; mute sets status muted, muted_at and muted_until; reassign
    moves the rule to another team. `keep` needs nothing done, so it is done at once; every
    other decision is an action item (edit the rule file, silence, write the runbook) that stays
    open on later agendas until marked done, or until Steward sees it carried out
    (alerts.review.carry_out): a mute's silence made, a prune/retire/tune seen in an import.

    A keep, mute, prune, retire or tune replaces the rule's earlier such decisions still in
    force (their silences are expired once this one's is made). After the commit the carry-out
    runs (Celery, retried while Alertmanager is unreachable).
    """
    now = now or timezone.now()
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    if not can_decide(user, rule, kind=kind, reassign_to=reassign_to):
        raise PermissionDenied("Only members of the rule's team or staff decide for it.")
    _check_writable(user, review)
    _validate(
        kind=kind, rule=rule, note=note, mute_until=mute_until, reassign_to=reassign_to, now=now
    )
    change: dict[str, Any] = {}
    if kind == Kind.TUNE and proposed_change:
        try:
            change = tune_change_validate(proposed_change)
        except PatchError as error:
            raise ValidationError({"tune_for": str(error)}) from None
    if kind == Kind.REASSIGN:
        # Claiming a rule without owner_team must not take one its system's team owns.
        moved = copy.copy(rule)
        moved.owner_team = reassign_to
        rule_capture_authorize(user=user, rule=moved, before=rule)
    decision = Decision.objects.create(
        review=review,
        week=week,
        rule=rule,
        kind=kind,
        note=note.strip(),
        owner=owner,
        due_date=due_date,
        mute_until=mute_until if kind == Kind.MUTE else None,
        reassign_to=reassign_to if kind == Kind.REASSIGN else None,
        decided_by=user,
        decided_at=now,
        done_at=now if kind == Kind.KEEP else None,
        done_by=user if kind == Kind.KEEP else None,
        proposed_change={k: (v or "0s") for k, v in change.items()},
    )
    _apply(rule, decision, now)
    if kind in REPLACING_KINDS:
        _replace_earlier(decision, user, now)
    _carry_out_after_commit(decision)
    return decision


# Decisions about whether and how the rule alerts: a later one replaces an earlier one.
REPLACING_KINDS = (Kind.KEEP, Kind.MUTE, Kind.PRUNE, Kind.RETIRE, Kind.TUNE)


def _replace_earlier(decision: Decision, user: User, now: datetime) -> None:
    """Earlier decisions in force on the rule are replaced: an open prune/retire/tune, or a
    mute whose silence is (to be) live. They leave the open actions; a mute's silence is
    expired by the carry-out of the new decision."""
    live_mute = Q(kind=Kind.MUTE) & ~Q(
        silence_state__in=[Decision.SilenceState.EXPIRED, Decision.SilenceState.VANISHED]
    )
    open_change = Q(kind__in=[Kind.PRUNE, Kind.RETIRE, Kind.TUNE], done_at__isnull=True)
    earlier = (
        Decision.objects.filter(rule_id=decision.rule_id, undone_at__isnull=True)
        .filter(live_mute | open_change)
        .exclude(pk=decision.pk)
    )
    for old in earlier:
        old.superseded_by = decision
        old.undone_at = now
        old.undone_by = user
        if old.done_at is None:
            old.done_at, old.done_by = now, user
        old.save(update_fields=["superseded_by", "undone_at", "undone_by", "done_at", "done_by"])


def _carry_out_after_commit(decision: Decision) -> None:
    if decision.kind != Kind.MUTE and not decision.undone_at and not _replaces_mute(decision):
        return
    from alerts.review.tasks import decision_carry_out_soon

    pk = decision.pk
    transaction.on_commit(lambda: decision_carry_out_soon(pk))


def _replaces_mute(decision: Decision) -> bool:
    return decision.supersedes.filter(kind=Kind.MUTE).exists()


def can_undo(user: Any, decision: Decision) -> bool:
    """Who may decide for the rule may undo its decisions; a reassign is undone by another."""
    return (
        decision.undone_at is None
        and decision.kind != Kind.REASSIGN
        and can_edit_team_object(user, decision.rule.owner_team_id)
    )


@transaction.atomic
def decision_undo(*, user: User, decision: Decision, now: datetime | None = None) -> Decision:
    """Undo a decision: it leaves the open actions, its effect on the rule is reverted (a
    rule it muted, pruned or retired is active again, unless a later decision changed it), and
    a mute's silence is expired after the commit (retried while Alertmanager is down)."""
    now = now or timezone.now()
    decision = (
        Decision.objects.select_for_update(of=("self",)).select_related("rule").get(pk=decision.pk)
    )
    if decision.undone_at is not None:
        raise ValidationError("This decision is already undone.")
    if decision.kind == Kind.REASSIGN:
        raise ValidationError("A reassign is undone by reassigning the rule again.")
    if not can_undo(user, decision):
        raise PermissionDenied("Only members of the rule's team or staff undo its decisions.")
    rule = AlertRule.objects.select_for_update().get(pk=decision.rule_id)
    if decision.kind == Kind.MUTE and rule.status == AlertRule.Status.MUTED:
        if rule.muted_until == decision.mute_until:
            rule.status = AlertRule.Status.ACTIVE
            rule.muted_until = None
            rule.muted_at = None
            rule.save()
    elif decision.kind in (Kind.PRUNE, Kind.RETIRE):
        gone = AlertRule.Status.PRUNED if decision.kind == Kind.PRUNE else AlertRule.Status.RETIRED
        if rule.status == gone:
            rule.status = AlertRule.Status.ACTIVE
            rule.save()
    decision.undone_at = now
    decision.undone_by = user
    if decision.done_at is None:
        decision.done_at, decision.done_by = now, user
    decision.save(update_fields=["undone_at", "undone_by", "done_at", "done_by"])
    if decision.kind == Kind.MUTE:
        _carry_out_after_commit(decision)
    return decision


def _validate(
    *,
    kind: str,
    rule: AlertRule,
    note: str,
    mute_until: datetime | None,
    reassign_to: Team | None,
    now: datetime,
) -> None:
    """The rules of a decision, each error on the field to fix (the review form shows them
    there: it validates nothing of its own)."""
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Unknown decision {kind!r}."})
    if kind == Kind.KEEP and not note.strip():
        raise ValidationError({"note": "Say why the rule is kept: a reason is required."})
    if kind == Kind.MUTE and (mute_until is None or mute_until <= now):
        raise ValidationError({"mute_until": "A mute needs an end date in the future."})
    if kind == Kind.REASSIGN and reassign_to is None:
        raise ValidationError({"reassign_to": "Choose the team the rule goes to."})
    if kind == Kind.REASSIGN and reassign_to is not None and reassign_to.pk == rule.owner_team_id:
        raise ValidationError({"reassign_to": "The rule already belongs to that team."})


def _apply(rule: AlertRule, decision: Decision, now: datetime) -> None:
    if decision.kind == Kind.PRUNE:
        rule.status = AlertRule.Status.PRUNED
    elif decision.kind == Kind.RETIRE:
        rule.status = AlertRule.Status.RETIRED
    elif decision.kind == Kind.MUTE:
        rule.status = AlertRule.Status.MUTED
        rule.muted_at = now
        rule.muted_until = decision.mute_until
    elif decision.kind == Kind.REASSIGN:
        rule.owner_team = decision.reassign_to
    else:
        return
    rule.save()


def can_mark_done(user: Any, decision: Decision) -> bool:
    """The action's owner, the rule's team, or staff."""
    if decision.owner_id is not None and getattr(user, "pk", None) == decision.owner_id:
        return True
    return can_edit_team_object(user, decision.rule.owner_team_id)


def decision_mark_done(*, user: User, decision: Decision, now: datetime | None = None) -> Decision:
    if not can_mark_done(user, decision):
        raise PermissionDenied("Only the action's owner, the rule's team or staff close it.")
    if decision.done_at is None:
        decision.done_at = now or timezone.now()
        decision.done_by = user
        decision.save(update_fields=["done_at", "done_by"])
    return decision


@transaction.atomic
def review_start(
    *, user: User, week: str, team: Team | None, now: datetime | None = None
) -> Review:
    """Open (or reopen the record of) the meeting and freeze its agenda.

    The ranked rule ids with their flags and messages are stored, so an evaluation during the
    meeting cannot reorder or empty it. Starting twice keeps the first frozen agenda.
    """
    if not can_run_review(user, team):
        raise PermissionDenied("Only the team's members (or staff, for the fleet) run its review.")
    now = now or timezone.now()
    review, _ = Review.objects.select_for_update().get_or_create(week=week, team=team)
    _check_open(review)
    if review.started_at is None:
        items = agenda_items(week=week, team=team, now=now)
        review.agenda = [
            {
                "rule": entry.rule.pk,
                "score": entry.score,
                "flags": [
                    {"flag": f.flag, "message": f.message, "evidence": f.evidence}
                    for f in entry.flags
                ],
            }
            for entry in items
        ]
        review.started_at = now
        review.started_by = user
        review.save()
        review.attendees.add(user)
    return review


def review_update(*, user: User, review: Review, notes: str, attendees: Iterable[User]) -> Review:
    if not can_run_review(user, review.team):
        raise PermissionDenied("Only the team's members (or staff) edit its review.")
    _check_open(review)
    review.notes = notes
    review.save(update_fields=["notes"])
    review.attendees.set(list(attendees))
    return review


def review_close(*, user: User, review: Review, now: datetime | None = None) -> Review:
    if not can_run_review(user, review.team):
        raise PermissionDenied("Only the team's members (or staff) close its review.")
    _check_open(review)
    if review.started_at is None:
        raise ValidationError("Start the review before closing it.")
    review.closed_at = now or timezone.now()
    review.closed_by = user
    review.save(update_fields=["closed_at", "closed_by"])
    return review
