"""Pages of the weekly review. Thin: parse, check access, call a selector or service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts.automation.selectors import action_weeks
from alerts.models import AlertRule, Decision
from alerts.replay.views import suggestions_attach
from alerts.review import carry_out, exports, selectors, services
from alerts.review.effect import decision_effects, decisions_carried_out
from alerts.review.forms import DecisionForm, MeetingForm, team_choices, user_choices
from alerts.review.numbers import header_numbers
from alerts.review.patches import review_patch
from alerts.silences.client import AlertmanagerUnavailable
from core.weeks import (
    current_week,
    last_complete_week,
    parse_week,
    week_elapsed_share,
    week_shift,
)
from fleet.access import is_fleet_admin, may_edit_or_claim, team_ids_for_user
from fleet.models import Team

# Items per agenda page. A team's meeting sees its whole agenda on one page (rarely more than
# 50 rules); the fleet-wide view, with every team's rules, is cut into pages short enough to
# read. No decision form is rendered until one is asked for.
TEAM_PAGE_SIZE = 50
FLEET_PAGE_SIZE = 20


def _week(week: str) -> str:
    try:
        parse_week(week)
    except ValueError as error:
        raise Http404(str(error)) from None
    return week


def _team(request: HttpRequest) -> Team | None:
    slug = request.GET.get("team") or request.POST.get("team") or ""
    if not slug:
        return None
    return get_object_or_404(Team, slug=slug)


def _rule_id(request: HttpRequest, name: str) -> int | None:
    """A rule id from the query string; anything else is ignored (a stale or hand-edited link
    shows the page without an open form)."""
    try:
        return int(request.GET.get(name, ""))
    except ValueError:
        return None


def _week_url(week: str, team: Team | None, anchor: str = "", **params: str | int | None) -> str:
    query = {"team": team.slug if team else None, **params}
    encoded = urlencode({key: value for key, value in query.items() if value is not None})
    return (
        reverse("review:week", args=[week])
        + (f"?{encoded}" if encoded else "")
        + (f"#{anchor}" if anchor else "")
    )


@require_GET
def review_current(request: HttpRequest) -> HttpResponse:
    """The last complete week; the user's own team unless `?team=` says otherwise (empty: all)."""
    if "team" in request.GET:
        team = _team(request)
    else:
        team = selectors.home_team(selectors.teams_mine_first(request.user))
    return HttpResponseRedirect(_week_url(last_complete_week(), team))


@require_GET
def review_week(request: HttpRequest, week: str) -> HttpResponse:
    week = _week(week)
    team = _team(request)
    context = _week_context(request, week, team, open_form=_rule_id(request, "decide"))
    return render(request, "alerts/review/week.html", context)


def _week_context(
    request: HttpRequest,
    week: str,
    team: Team | None,
    *,
    open_form: int | None = None,
    bound_form: DecisionForm | None = None,
) -> dict[str, Any]:
    """The week page. `open_form` is the rule whose decision form is shown (`?decide=`), empty or
    `bound_form` (a submitted form shown again with its errors); every other item shows a link.
    The agenda page shown is `?page=`, else the page holding that rule (or the rule `?at=`)."""
    now = timezone.now()
    review = selectors.review_for(week, team)
    items = selectors.agenda_items(week=week, team=team, review=review, now=now)
    size = TEAM_PAGE_SIZE if team else FLEET_PAGE_SIZE
    paginator = Paginator(items, size)
    located = open_form or _rule_id(request, "at")
    if request.GET.get("page") or located is None:
        page = paginator.get_page(request.GET.get("page"))
    else:
        index = next((i for i, e in enumerate(items) if e.rule.pk == located), 0)
        page = paginator.get_page(index // size + 1)
    numbers, trend = header_numbers(week=week, team=team, now=now)
    # Access is looked up once for the page, not once per agenda item.
    admin = is_fleet_admin(request.user)
    my_teams = team_ids_for_user(request.user)
    closed = review is not None and review.closed_at is not None
    notices = _item_notices(request, {entry.rule.pk for entry in page.object_list})
    suggestions_attach(list(page.object_list), week=week, team=team, now=now)
    for entry in page.object_list:
        rule = entry.rule
        entry.can_decide = not closed and may_edit_or_claim(
            rule.owner_team_id, fleet_admin=admin, team_ids=my_teams
        )
        entry.notices = notices.pop(rule.pk, [])
        if not entry.can_decide:
            continue
        if open_form == rule.pk:
            entry.form = bound_form or _decision_form(rule, team)
    teams = selectors.teams_mine_first(request.user)
    elapsed = week_elapsed_share(week, now)
    running = current_week(now)
    return {
        "week": week,
        "team": team,
        "my_teams": [t for t in teams if getattr(t, "is_mine", False)],
        "other_teams": [t for t in teams if not getattr(t, "is_mine", False)],
        "prev_week": week_shift(week, -1),
        "next_week": week_shift(week, 1),
        "current_week": running,
        "last_complete_week": last_complete_week(now),
        "elapsed_percent": round(100 * elapsed),
        "is_running": 0 < elapsed < 1,
        "is_future": elapsed == 0,
        "review": review,
        "can_run": services.can_run_review(request.user, team),
        "meeting_form": MeetingForm(
            users=user_choices(team),
            initial={
                "notes": review.notes if review else "",
                "attendees": [u.pk for u in review.attendees.all()] if review else [],
            },
        ),
        "numbers": numbers,
        "trend": trend,
        "page": page,
        "page_query": urlencode({"team": team.slug} if team else {}),
        "total_items": len(items),
        "groups": selectors.agenda_groups(list(page.object_list)),
        "actions": _with_age(list(selectors.open_actions(week=week, team=team)), now),
        "silence_trouble": selectors.silence_trouble(team=team),
        # Runbook automation of the week: the user's teams' actions (staff: all).
        "automation": [
            w
            for w in action_weeks(week=week, team_id=team.pk if team else None)
            if admin or w.action.team_id in my_teams
        ],
        # Confirmations for items not on this page (or a rule that left the agenda) go on top.
        "messages": notices.get(None, []),
    }


def _item_notices(request: HttpRequest, on_page: set[int]) -> dict[int | None, list[Any]]:
    """This request's messages by the agenda item they are about (tagged "rule-<pk>"), so a
    confirmation shows where the user is; key None holds the others."""
    by_item: dict[int | None, list[Any]] = {}
    for message in messages.get_messages(request):
        tag = next((t for t in message.extra_tags.split() if t.startswith("rule-")), "")
        rule_id = int(tag.removeprefix("rule-")) if tag.removeprefix("rule-").isdigit() else None
        by_item.setdefault(rule_id if rule_id in on_page else None, []).append(message)
    return by_item


def _decision_form(rule: AlertRule, team: Team | None, data: Any = None) -> DecisionForm:
    """The rule's decision form; the owner picker lists the rule's team first."""
    return DecisionForm(
        data,
        prefix=f"rule-{rule.pk}",
        users=user_choices(rule.owner_team or team),
        teams=team_choices(),
    )


def _with_age(actions: list[Decision], now: datetime) -> list[Decision]:
    for action in actions:
        action.age_days = (now - action.decided_at).days  # type: ignore[attr-defined]
    return actions


@require_http_methods(["GET", "POST"])
def decision_create(request: HttpRequest, week: str, rule_id: int) -> HttpResponse:
    """GET: the decision form on its own page. POST: record it and go back to the agenda, at
    the item, with the confirmation there; a refused form is shown again at the item."""
    week = _week(week)
    team = _team(request)
    rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=rule_id)
    form = _decision_form(rule, team, request.POST if request.method == "POST" else None)
    if request.method == "GET":
        context = {"week": week, "team": team, "rule": rule, "form": form}
        return render(request, "alerts/review/decide.html", context)
    if not services.can_decide(request.user, rule):
        raise PermissionDenied("Only members of the rule's team or staff decide for it.")
    if form.is_valid():
        try:
            _record(request, rule, week, team, form)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            recorded = f"Decision recorded for {rule}."
            messages.success(request, recorded, extra_tags=f"rule-{rule.pk}")
            return HttpResponseRedirect(_week_url(week, team, f"rule-{rule.pk}", at=rule.pk))
    page_context = _week_context(request, week, team, open_form=rule.pk, bound_form=form)
    page: Page[selectors.AgendaItem] = page_context["page"]
    if any(entry.form is form for entry in page.object_list):
        return render(request, "alerts/review/week.html", page_context, status=400)
    # The rule is not on this agenda (e.g. another team's page): show the form alone.
    context = {"week": week, "team": team, "rule": rule, "form": form}
    return render(request, "alerts/review/decide.html", context, status=400)


def _record(
    request: HttpRequest, rule: AlertRule, week: str, team: Team | None, form: DecisionForm
) -> Decision:
    data = form.cleaned_data
    owner = User.objects.filter(pk=data["owner"]).first() if data.get("owner") else None
    target = (
        Team.objects.filter(pk=data["reassign_to"]).first() if data.get("reassign_to") else None
    )
    return services.decision_record(
        user=request.user,  # type: ignore[arg-type]
        rule=rule,
        week=week,
        kind=data["kind"],
        review=selectors.review_for(week, team),
        note=data.get("note") or "",
        owner=owner,
        due_date=data.get("due_date"),
        mute_until=form.mute_until_datetime(),
        reassign_to=target,
        proposed_change=form.proposed_change() if data["kind"] == Decision.Kind.TUNE else None,
    )


@require_POST
def action_done(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("rule"), pk=pk)
    services.decision_mark_done(user=request.user, decision=decision)  # type: ignore[arg-type]
    messages.success(request, f"Marked done: {decision.get_kind_display()} {decision.rule}.")
    back = request.POST.get("week") or last_complete_week()
    return HttpResponseRedirect(_week_url(_week(back), _team(request), "actions"))


@require_POST
def meeting_start(request: HttpRequest, week: str) -> HttpResponse:
    week, team = _week(week), _team(request)
    try:
        services.review_start(user=request.user, week=week, team=team)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(_week_url(week, team, "meeting"))


@require_POST
def meeting_update(request: HttpRequest, week: str) -> HttpResponse:
    week, team = _week(week), _team(request)
    review = selectors.review_for(week, team)
    if review is None:
        raise Http404("Start the review first.")
    form = MeetingForm(request.POST, users=user_choices(team))
    if not form.is_valid():
        messages.error(request, "Check the meeting form: " + form.errors.as_text())
        return HttpResponseRedirect(_week_url(week, team, "meeting"))
    attendees = User.objects.filter(pk__in=form.cleaned_data["attendees"])
    try:
        services.review_update(
            user=request.user,  # type: ignore[arg-type]
            review=review,
            notes=form.cleaned_data["notes"],
            attendees=attendees,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(_week_url(week, team, "meeting"))


@require_POST
def meeting_close(request: HttpRequest, week: str) -> HttpResponse:
    week, team = _week(week), _team(request)
    review = selectors.review_for(week, team)
    if review is None:
        raise Http404("There is no review to close.")
    try:
        services.review_close(user=request.user, review=review)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(_week_url(week, team, "meeting"))


@require_GET
def minutes_markdown(request: HttpRequest, week: str) -> HttpResponse:
    minutes = exports.minutes_build(week=_week(week), team=_team(request))
    response = HttpResponse(
        exports.minutes_markdown(minutes), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="review-{week}.md"'
    return response


@require_GET
def minutes_csv(request: HttpRequest, week: str) -> HttpResponse:
    minutes = exports.minutes_build(week=_week(week), team=_team(request))
    response = HttpResponse(exports.minutes_csv(minutes), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="review-{week}.csv"'
    return response


@require_GET
def review_effect(request: HttpRequest) -> HttpResponse:
    rows, summary = decision_effects(team=_team(request))
    context = {
        "rows": rows,
        "summary": summary,
        "carried": decisions_carried_out(team=_team(request)),
        "team": _team(request),
        "all_teams": Team.objects.only("slug", "name"),
    }
    return render(request, "alerts/review/effect.html", context)


# A decision's page checks its silence against Alertmanager at most this often.
SILENCE_CHECK_SECONDS = 60


@require_GET
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One decision: what it changed at the source (silence, patch, import seen), undo."""
    decision = get_object_or_404(
        Decision.objects.select_related(
            "rule", "rule__owner_team", "decided_by", "undone_by", "superseded_by", "review"
        ),
        pk=pk,
    )
    now = timezone.now()
    checked = decision.silence_checked_at
    if decision.silence_state == Decision.SilenceState.CREATED and (
        checked is None or (now - checked).total_seconds() > SILENCE_CHECK_SECONDS
    ):
        try:
            carry_out.decision_silences_check(decisions=[decision], now=now)
        except AlertmanagerUnavailable:
            pass
    context = {
        "decision": decision,
        "decision_url": carry_out.decision_url(decision),
        "can_undo": services.can_undo(request.user, decision),
        "team": decision.rule.owner_team,
    }
    return render(request, "alerts/review/decision.html", context)


@require_POST
def decision_undo(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("rule"), pk=pk)
    try:
        services.decision_undo(user=request.user, decision=decision)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Undone: {decision.get_kind_display()} {decision.rule}.")
    return HttpResponseRedirect(reverse("review:decision", args=[pk]))


@require_GET
def week_patch(request: HttpRequest, week: str) -> HttpResponse:
    """The week's prune/retire/tune decisions as a patch to the rule files, with what it
    leaves out and why."""
    week, team = _week(week), _team(request)
    query = urlencode({"week": week, **({"team": team.slug} if team else {})})
    api_url = request.build_absolute_uri(f"{reverse('api:decision-patch')}?{query}")
    context = {
        "week": week,
        "team": team,
        "patch": review_patch(week=week, team=team),
        "api_url": api_url,
    }
    return render(request, "alerts/review/patch.html", context)


@require_GET
def week_patch_download(request: HttpRequest, week: str) -> HttpResponse:
    week, team = _week(week), _team(request)
    patch = review_patch(week=week, team=team)
    response = HttpResponse(patch.diff, content_type="text/x-diff; charset=utf-8")
    scope = f"-{team.slug}" if team else ""
    response["Content-Disposition"] = f'attachment; filename="review-{week}{scope}.patch"'
    return response
