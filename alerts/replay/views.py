"""The replay on the review page (a suggestion per flagged item), its rule page and the
"Choose this change" button. Thin: selectors compute, services record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from alerts.models import AlertRule, Decision, Flag
from alerts.replay.engine import FOR_GRID, KEEP_GRID, Outcome, Suggestion
from alerts.replay.routing import RoutingError
from alerts.replay.selectors import rule_grid, suggestions_for_rules
from alerts.replay.text import change_words, rule_snippet, suggestion_text
from alerts.review import selectors as review_selectors
from alerts.review import services
from core.durations import DurationError, duration_format, duration_parse
from core.weeks import parse_week
from fleet.models import Team

# The flags a different `for` / `keep_firing_for` can fix.
TUNABLE_FLAGS = frozenset({Flag.NOISY, Flag.FLAPPING, Flag.TRANSIENT})


@dataclass(frozen=True)
class SuggestionView:
    rule_id: int
    text: str
    snippet: str
    proposed_change: dict[str, str]
    replay_url: str
    chosen: bool  # a tune decision of the week already records this change


def suggestions_attach(
    items: Sequence[Any], *, week: str, team: Team | None, now: datetime
) -> None:
    """Set `item.suggestion` on the agenda items flagged noisy, flapping or transient: one
    query for all their episodes (alerts.replay.selectors)."""
    tunable = [item for item in items if any(f.flag in TUNABLE_FLAGS for f in item.flags)]
    if not tunable:
        return
    try:
        found = suggestions_for_rules([item.rule for item in tunable], now=now)
    except RoutingError:
        return  # a broken Alertmanager config file must not break the review page
    for item in tunable:
        suggestion = found.get(item.rule.pk)
        if suggestion is not None:
            chosen = any(
                d.kind == Decision.Kind.TUNE and d.proposed_change == suggestion.proposed_change
                for d in item.decisions_this_week
            )
            item.suggestion = _view(item.rule, suggestion, chosen=chosen)


def _view(rule: AlertRule, suggestion: Suggestion, *, chosen: bool) -> SuggestionView:
    return SuggestionView(
        rule_id=rule.pk,
        text=suggestion_text(rule, suggestion, weeks=settings.STEWARD_REPLAY_WEEKS),
        snippet=rule_snippet(rule, suggestion.change),
        proposed_change=suggestion.proposed_change,
        replay_url=reverse("review:replay", args=[rule.pk]),
        chosen=chosen,
    )


def _grid_value(text: str, allowed: Sequence[timedelta], current: timedelta | None) -> timedelta:
    try:
        value = duration_parse(text)
    except DurationError as error:
        raise ValidationError(str(error)) from None
    if value not in allowed and value != (current or timedelta(0)):
        raise ValidationError(f"{text} is not on the replay grid.")
    return value


@require_POST
def tune_choose(request: HttpRequest, week: str, rule_id: int) -> HttpResponse:
    """Record the suggested change as a tune decision (with its proposed change)."""
    try:
        parse_week(week)
    except ValueError as error:
        raise Http404(str(error)) from None
    rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=rule_id)
    slug = request.POST.get("team") or ""
    team = get_object_or_404(Team, slug=slug) if slug else None
    if not services.can_decide(request.user, rule, kind=Decision.Kind.TUNE):
        raise PermissionDenied("Only members of the rule's team or staff decide for it.")
    try:
        for_ = _grid_value(request.POST.get("for", ""), FOR_GRID, rule.for_duration)
        keep = _grid_value(request.POST.get("keep_firing_for", ""), KEEP_GRID, rule.keep_firing_for)
        change = {"for": duration_format(for_), "keep_firing_for": duration_format(keep)}
        services.decision_record(
            user=request.user,  # type: ignore[arg-type]
            rule=rule,
            week=week,
            kind=Decision.Kind.TUNE,
            review=review_selectors.review_for(week, team),
            note=(request.POST.get("note") or "")[:2000],
            proposed_change=change,
        )
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    messages.success(
        request,
        f"Tune recorded for {rule}: for {change['for']}, "
        f"keep_firing_for {change['keep_firing_for']}.",
        extra_tags=f"rule-{rule.pk}",
    )
    query = urlencode({k: v for k, v in {"team": slug or None, "at": rule.pk}.items() if v})
    return HttpResponseRedirect(f"{reverse('review:week', args=[week])}?{query}#rule-{rule.pk}")


def _row(rule: AlertRule, outcome: Outcome, current: Outcome) -> dict[str, Any]:
    return {
        "for": duration_format(outcome.for_),
        "keep_firing_for": duration_format(outcome.keep_firing_for),
        "change": change_words(rule, outcome),
        "fires": outcome.fires,
        "notifications": outcome.notifications,
        "pages": outcome.pages,
        "pages_removed": current.pages - outcome.pages,
        "interruptions": dict(outcome.interruptions),
        "transient_removed": outcome.transient_removed,
        "flapping_removed": outcome.flapping_removed,
        "delay_median_seconds": outcome.delay_median.total_seconds(),
        "delay_max_seconds": outcome.delay_max.total_seconds(),
        "regret": [
            {
                "episode": r.episode_id,
                "fingerprint": r.fingerprint,
                "starts_at": r.starts_at.isoformat(),
                "why": r.why,
                "delay_seconds": None if r.delay is None else r.delay.total_seconds(),
                "engaged": r.engaged,
                "actionable": r.actionable,
                "url": reverse("api:episode-detail", args=[r.episode_id]),
                "oncall_url": reverse("runbooks:for_alert", args=[rule.alertname]),
            }
            for r in outcome.regret
        ],
    }


def grid_report(rule: AlertRule, *, now: datetime) -> dict[str, Any]:
    """The whole grid for one rule as plain data (page and API share it)."""
    grid = rule_grid(rule, now=now)
    suggestion = None
    if grid.suggestion is not None:
        suggestion = {
            "text": suggestion_text(rule, grid.suggestion, weeks=settings.STEWARD_REPLAY_WEEKS),
            "proposed_change": grid.suggestion.proposed_change,
            "snippet": rule_snippet(rule, grid.suggestion.change),
        }
    return {
        "rule": rule.pk,
        "alertname": rule.alertname,
        "window": {"start": grid.start.isoformat(), "end": grid.end.isoformat()},
        "current": _row(rule, grid.current, grid.current),
        "candidates": [_row(rule, o, grid.current) for o in grid.outcomes],
        "suggestion": suggestion,
    }


@require_GET
def rule_replay(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=rule_id)
    try:
        report = grid_report(rule, now=timezone.now())
    except RoutingError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    context = {"rule": rule, "report": report, "weeks": settings.STEWARD_REPLAY_WEEKS}
    return render(request, "alerts/replay/rule.html", context)
