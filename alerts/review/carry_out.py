"""Review decisions carried out at the source.

A *mute* becomes an Alertmanager silence for exactly the rule (`rule_matchers`), from the
decision until its end, created by the deciding user, with a comment naming the review week,
the note and a link back to the decision. The silence id is kept on the decision. The link is
also the marker that makes creation idempotent: before creating, the silences Alertmanager
holds are searched for one carrying this decision's link, so a retry after a crash (the silence
made, the id not yet saved) adopts it instead of making a second one. Undoing or replacing the
decision expires the silence. A silence that vanished or was cut short outside Steward is seen
by `decision_silences_check` (the Celery beat sweep, and a decision's own page) and shown.

*Prune*, *retire* and *tune* decisions are carried out in the rule files (the patch of
`alerts.review.patches`); `decisions_observe_import` marks them done when an import shows it.

Alertmanager unreachable raises `AlertmanagerUnavailable` after the attempt is recorded on the
decision (state "retrying"): the Celery task retries with backoff, the sweep picks up the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alerts.catalog.rulefiles import parse_duration
from alerts.models import AlertRule, Decision, matchers_key
from alerts.selectors import rules_by_alertname
from alerts.silences.client import (
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    SilenceData,
    silence_create,
    silence_expire,
    silences_list,
)
from alerts.silences.matchers import rule_matchers

logger = logging.getLogger(__name__)

Kind = Decision.Kind
State = Decision.SilenceState
# A silence ending this much before the decided end was shortened (Alertmanager rounds nothing,
# but an edit in its UI keeps minute precision).
SHORTENED_SLACK = timedelta(minutes=1)
# Decision states whose silence Steward still has to create.
_TO_CREATE = (State.NONE, State.PENDING, State.RETRYING)
_ERROR_CHARS = 500


def decision_url(decision: Decision) -> str:
    """The decision's page, absolute (STEWARD_BASE_URL): the link in its silence."""
    return settings.STEWARD_BASE_URL + reverse("review:decision", args=[decision.pk])


def silence_comment(decision: Decision) -> str:
    note = " ".join(decision.note.split())
    until = decision.mute_until.strftime("%Y-%m-%d %H:%M UTC") if decision.mute_until else ""
    return (
        f"Muted in the review of {decision.week} until {until}"
        + (f": {note}" if note else "")
        + f" — Steward decision {decision_url(decision)}"
    )


def _creator(decision: Decision) -> str:
    return decision.decided_by.get_username() if decision.decided_by else "steward"


def _marked(decision: Decision, silences: Iterable[SilenceData]) -> list[SilenceData]:
    """Silences carrying this decision's link (made by an earlier attempt)."""
    url = decision_url(decision)
    return [s for s in silences if url in s.comment]


def _configured() -> bool:
    return bool(settings.ALERTMANAGER_URL)


def decision_carry_out(decision_id: int, *, now: datetime | None = None) -> Decision:
    """Bring the decision's silences in line with it; safe to repeat (Celery retries it).

    A live mute gets its silence (created once); an undone decision, and every decision this
    one replaced, gets its silence expired. Raises AlertmanagerUnavailable once the attempt is
    recorded, so the caller retries.
    """
    now = now or timezone.now()
    failure: AlertmanagerUnavailable | None = None
    decision = Decision.objects.get(pk=decision_id)
    if decision.kind == Kind.MUTE and decision.undone_at is None:
        failure = _silence_ensure(decision_id, now)
    to_expire = [decision_id] if decision.undone_at is not None else []
    to_expire += list(decision.supersedes.values_list("pk", flat=True))
    for pk in to_expire:
        failure = _silence_end(pk, now) or failure
    if failure is not None:
        raise failure
    return Decision.objects.get(pk=decision_id)


def _record_failure(decision: Decision, error: Exception, state: str) -> None:
    decision.silence_state = state
    decision.silence_error = str(error)[:_ERROR_CHARS]
    decision.save(update_fields=["silence_state", "silence_error", "silence_attempts"])


def _silence_ensure(decision_id: int, now: datetime) -> AlertmanagerUnavailable | None:
    """Create the mute's silence unless it exists; the row stays locked meanwhile, so two
    workers cannot both create one."""
    with transaction.atomic():
        decision = (
            # Lock the decision row only (decided_by is an outer join PostgreSQL cannot lock).
            Decision.objects.select_for_update(of=("self",))
            .select_related("rule", "decided_by")
            .get(pk=decision_id)
        )
        if decision.undone_at is not None or decision.silence_state not in _TO_CREATE:
            return None
        if decision.mute_until is None or decision.mute_until <= now:
            decision.silence_state = State.EXPIRED
            decision.silence_error = "The mute ended before a silence could be made."
            decision.save(update_fields=["silence_state", "silence_error"])
            return None
        if decision.rule.status != AlertRule.Status.MUTED:
            # A mute recorded before decisions were carried out, whose rule was unmuted since.
            decision.silence_state = State.NONE
            decision.silence_error = "The rule is no longer muted: no silence is made."
            decision.save(update_fields=["silence_state", "silence_error"])
            return None
        if not _configured():
            decision.silence_state = State.PENDING
            decision.silence_error = "ALERTMANAGER_URL is not set: no silence can be made yet."
            decision.save(update_fields=["silence_state", "silence_error"])
            return None
        decision.silence_attempts += 1
        rule = decision.rule
        try:
            found = [s for s in _marked(decision, silences_list()) if s.state != "expired"]
            if found:
                silence_id = found[0].id
            else:
                siblings = rules_by_alertname([rule.alertname]).get(rule.alertname, [])
                silence_id = silence_create(
                    None,
                    matchers=rule_matchers(rule, siblings),
                    starts_at=now,
                    ends_at=decision.mute_until,
                    created_by=_creator(decision),
                    comment=silence_comment(decision),
                )
        except AlertmanagerUnavailable as error:
            logger.warning(
                "Alertmanager unavailable for the silence of decision %s (attempt %s): %s",
                decision.pk,
                decision.silence_attempts,
                error,
            )
            _record_failure(decision, error, State.RETRYING)
            return error
        except AlertmanagerRejected as error:
            # Not worth retrying: shown on the decision; a new decision fixes it.
            _record_failure(decision, error, State.PENDING)
            logger.error("Alertmanager refused the silence of decision %s: %s", decision.pk, error)
            return None
        decision.silence_id = silence_id
        decision.silence_state = State.CREATED
        decision.silence_error = ""
        decision.silence_checked_at = now
        decision.carried_out_at = now
        decision.carried_out_note = (
            f"carried out: silence {silence_id} created in Alertmanager at "
            f"{now:%Y-%m-%d %H:%M:%S} UTC"
        )
        if decision.done_at is None:
            decision.done_at = now
            decision.done_by = None
        decision.save()
    return None


def _silence_end(decision_id: int, now: datetime) -> AlertmanagerUnavailable | None:
    """Expire the silence of an undone or replaced mute (and any left by a lost attempt)."""
    with transaction.atomic():
        decision = Decision.objects.select_for_update().get(pk=decision_id)
        if decision.kind != Kind.MUTE or decision.silence_state in (
            State.EXPIRED,
            State.VANISHED,
        ):
            return None
        if not decision.silence_id and decision.silence_attempts == 0:
            decision.silence_state = State.NONE
            decision.save(update_fields=["silence_state"])
            return None
        if not _configured():
            return None
        try:
            ids = {decision.silence_id} - {""}
            if decision.silence_attempts:
                ids |= {s.id for s in _marked(decision, silences_list()) if s.state != "expired"}
            for silence_id in sorted(ids):
                silence_expire(None, silence_id)
        except AlertmanagerUnavailable as error:
            decision.silence_error = f"Expiring the silence: {error}"[:_ERROR_CHARS]
            decision.save(update_fields=["silence_error"])
            return error
        except AlertmanagerRejected as error:
            decision.silence_error = f"Expiring the silence: {error}"[:_ERROR_CHARS]
            decision.save(update_fields=["silence_error"])
            return None
        decision.silence_state = State.EXPIRED if ids else State.NONE
        decision.silence_error = ""
        decision.silence_checked_at = now
        decision.save(update_fields=["silence_state", "silence_error", "silence_checked_at"])
    return None


def decisions_needing_work(now: datetime | None = None) -> list[int]:
    """Mutes whose silence is still to be made, and undone or replaced mutes whose silence
    is still to be expired."""
    now = now or timezone.now()
    create = Q(
        kind=Kind.MUTE,
        undone_at__isnull=True,
        silence_state__in=[State.PENDING, State.RETRYING, State.NONE],
        rule__status=AlertRule.Status.MUTED,
        mute_until__gt=now,
    )
    # Undone while its creation was still being retried: a lost attempt may have made one.
    retrying = [State.PENDING, State.RETRYING]
    lost = Q(silence_id="", silence_attempts__gt=0, silence_state__in=retrying)
    expire = Q(kind=Kind.MUTE, undone_at__isnull=False) & (Q(silence_state=State.CREATED) | lost)
    ids = Decision.objects.filter(create | expire).values_list("pk", flat=True)
    return list(ids.order_by("pk"))


def decision_silences_check(
    *, decisions: Iterable[Decision] | None = None, now: datetime | None = None
) -> int:
    """Compare live mutes' silences with Alertmanager: gone → vanished, ended (or ending)
    before the decided end → shortened, ended on time → expired. Returns how many changed.
    Raises AlertmanagerUnavailable when no Alertmanager answers."""
    now = now or timezone.now()
    if decisions is None:
        decisions = Decision.objects.filter(
            kind=Kind.MUTE, undone_at__isnull=True, silence_state=State.CREATED
        )
    checking = [d for d in decisions if d.silence_id and d.silence_state == State.CREATED]
    if not checking or not _configured():
        return 0
    by_id = {s.id: s for s in silences_list()}
    changed = 0
    for decision in checking:
        state, error = _observed(decision, by_id.get(decision.silence_id), now)
        decision.silence_checked_at = now
        fields = ["silence_checked_at"]
        if state != decision.silence_state:
            decision.silence_state, decision.silence_error = state, error
            fields += ["silence_state", "silence_error"]
            changed += 1
            logger.warning(
                "The silence %s of decision %s is now %s: %s",
                decision.silence_id,
                decision.pk,
                state,
                error,
            )
        Decision.objects.filter(pk=decision.pk, silence_state=State.CREATED).update(
            **{f: getattr(decision, f) for f in fields}
        )
    return changed


def _observed(decision: Decision, silence: SilenceData | None, now: datetime) -> tuple[str, str]:
    end = decision.mute_until or now
    if silence is None:
        if now >= end:
            return State.EXPIRED, ""
        return State.VANISHED, (
            f"Silence {decision.silence_id} is no longer in Alertmanager (deleted or lost "
            "outside Steward): the rule is not silenced."
        )
    if silence.ends_at < end - SHORTENED_SLACK:
        how = "expired" if silence.state == "expired" else "shortened"
        return State.SHORTENED, (
            f"Silence {silence.id} was {how} outside Steward: it ends "
            f"{silence.ends_at:%Y-%m-%d %H:%M} UTC instead of {end:%Y-%m-%d %H:%M} UTC."
        )
    if silence.state == "expired":
        return State.EXPIRED, ""
    return State.CREATED, ""


# --- Rule files: prune, retire and tune seen carried out by an import -----------------------


def _tune_seen(decision: Decision, rule: AlertRule) -> bool:
    change = decision.proposed_change or {}
    if not change:
        return False
    current = {"for": rule.for_duration, "keep_firing_for": rule.keep_firing_for}
    for key, value in change.items():
        try:
            wanted = parse_duration(value) or None
        except ValueError:
            return False
        if key not in current or current[key] != wanted:
            return False
    return True


def decisions_observe_import(
    *, arrived: dict[str, set[tuple[str, str]]], origin: str, now: datetime | None = None
) -> list[Decision]:
    """Mark done the open prune/retire decisions whose rule no longer arrives from its file,
    and the tune decisions whose rule arrived with the proposed for/keep_firing_for."""
    now = now or timezone.now()
    open_ = Decision.objects.filter(
        done_at__isnull=True,
        undone_at__isnull=True,
        kind__in=[Kind.PRUNE, Kind.RETIRE, Kind.TUNE],
        rule__source_file__in=list(arrived),
    ).select_related("rule")
    done: list[Decision] = []
    for decision in open_:
        rule = decision.rule
        present = (rule.alertname, matchers_key(rule.matchers or {})) in arrived[rule.source_file]
        if decision.kind == Kind.TUNE:
            if not present or not _tune_seen(decision, rule):
                continue
        elif present:
            continue
        decision.done_at = decision.carried_out_at = now
        decision.done_by = None
        decision.carried_out_note = (
            f"carried out: seen in import of {rule.source_file} at {now:%Y-%m-%d %H:%M:%S} UTC"
        )[:500]
        decision.save(update_fields=["done_at", "done_by", "carried_out_at", "carried_out_note"])
        done.append(decision)
    return done
