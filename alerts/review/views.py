"""Pages of the weekly review. Thin: parse, check access, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts.models import AlertRule, Decision
from alerts.review import exports, selectors, services
from alerts.review.effect import decision_effects
from alerts.review.forms import DecisionForm, MeetingForm, team_choices, user_choices
from alerts.review.numbers import header_numbers
from alerts.weeks import current_week, parse_week, week_shift
from fleet.access import is_fleet_admin, may_edit_or_claim, team_ids_for_user
from fleet.models import Team

AGENDA_PAGE_SIZE = 200


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


def _week_url(week: str, team: Team | None, anchor: str = "") -> str:
    query = f"?{urlencode({'team': team.slug})}" if team else ""
    return reverse("review:week", args=[week]) + query + (f"#{anchor}" if anchor else "")


@require_GET
def review_current(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(_week_url(current_week(), _team(request)))


@require_GET
def review_week(request: HttpRequest, week: str) -> HttpResponse:
    week = _week(week)
    team = _team(request)
    return render(request, "alerts/review/week.html", _week_context(request, week, team))


def _week_context(
    request: HttpRequest, week: str, team: Team | None, **extra: Any
) -> dict[str, Any]:
    review = selectors.review_for(week, team)
    items = selectors.agenda_items(week=week, team=team, review=review)
    page = Paginator(items, AGENDA_PAGE_SIZE).get_page(request.GET.get("page"))
    numbers, trend = header_numbers(week=week, team=team)
    users, teams = user_choices(), team_choices()
    # Access is looked up once for the page, not once per agenda item.
    admin = is_fleet_admin(request.user)
    my_teams = team_ids_for_user(request.user)
    closed = review is not None and review.closed_at is not None
    for entry in page.object_list:
        rule = entry.rule
        entry.can_decide = not closed and may_edit_or_claim(
            rule.owner_team_id, fleet_admin=admin, team_ids=my_teams
        )
    return {
        "week": week,
        "team": team,
        "all_teams": Team.objects.only("slug", "name"),
        "prev_week": week_shift(week, -1),
        "next_week": week_shift(week, 1),
        "current_week": current_week(),
        "review": review,
        "can_run": services.can_run_review(request.user, team),
        "meeting_form": MeetingForm(
            users=users,
            initial={
                "notes": review.notes if review else "",
                "attendees": [u.pk for u in review.attendees.all()] if review else [],
            },
        ),
        # Rendered once and shared by every agenda item's form (see _decision_fields.html).
        "kind_choices": Decision.Kind.choices,
        "user_options": _options(users),
        "team_options": _options(teams),
        "numbers": numbers,
        "trend": trend,
        "page": page,
        "total_items": len(items),
        "groups": selectors.agenda_groups(list(page.object_list)),
        "actions": _with_age(list(selectors.open_actions(week=week, team=team))),
        **extra,
    }


def _options(choices: list[tuple[str, str]]) -> SafeString:
    return format_html_join("", '<option value="{}">{}</option>', choices)


def _with_age(actions: list[Decision]) -> list[Decision]:
    now = timezone.now()
    for action in actions:
        action.age_days = (now - action.decided_at).days  # type: ignore[attr-defined]
    return actions


@require_http_methods(["GET", "POST"])
def decision_create(request: HttpRequest, week: str, rule_id: int) -> HttpResponse:
    """GET: the decision form on its own page. POST: record it and go back to the agenda."""
    week = _week(week)
    team = _team(request)
    rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=rule_id)
    form = DecisionForm(
        request.POST if request.method == "POST" else None,
        prefix=f"rule-{rule.pk}",
        users=user_choices(),
        teams=team_choices(),
    )
    status = 200
    if request.method == "POST":
        if not services.can_decide(request.user, rule):
            raise PermissionDenied("Only members of the rule's team or staff decide for it.")
        if form.is_valid():
            try:
                _record(request, rule, week, team, form)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Decision recorded for {rule}.")
                return HttpResponseRedirect(_week_url(week, team, f"rule-{rule.pk}"))
        status = 400
    context = {"week": week, "team": team, "rule": rule, "form": form}
    return render(request, "alerts/review/decide.html", context, status=status)


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
    )


@require_POST
def action_done(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("rule"), pk=pk)
    services.decision_mark_done(user=request.user, decision=decision)  # type: ignore[arg-type]
    messages.success(request, f"Marked done: {decision.get_kind_display()} {decision.rule}.")
    back = request.POST.get("week") or current_week()
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
    form = MeetingForm(request.POST, users=user_choices())
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
        "team": _team(request),
        "all_teams": Team.objects.only("slug", "name"),
    }
    return render(request, "alerts/review/effect.html", context)
