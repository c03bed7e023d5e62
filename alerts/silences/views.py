"""Pages of the silence ledger: /silences/ (tabs, filters), a silence, the sync button and a
team's enforcement setting."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.integrations.alertmanager.urls import alertmanager_urls
from alerts.silences import selectors
from alerts.silences.client import AlertmanagerUnavailable
from alerts.silences.models import Silence, TeamSilenceEnforcement
from alerts.silences.policy import FlagKind, enforcement_plan, silence_flags
from alerts.silences.services import silences_enforce, silences_sync, team_enforcement_set
from fleet.access import can_edit_team_object, is_fleet_admin
from fleet.models import Team

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> selectors.SilenceFilters:
    tab = request.GET.get("tab", "active")
    flag = request.GET.get("flag", "")
    return selectors.SilenceFilters(
        tab=tab if tab in selectors.TABS else "active",
        team=request.GET.get("team", "")[:50],
        flag=flag if flag in FlagKind.VALUES else "",
        creator=request.GET.get("creator", "").strip()[:200],
    )


def silence_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    now = timezone.now()
    rows = selectors.silence_rows(filters, now=now)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    team = Team.objects.filter(slug=filters.team).first() if filters.team else None
    mode = TeamSilenceEnforcement.Mode.OFF.value
    if team is not None:
        setting = TeamSilenceEnforcement.objects.filter(team=team).first()
        mode = setting.mode if setting is not None else mode
    plan = enforcement_plan(now=now)
    if team is not None:
        of_team = set(
            Silence.teams.through.objects.filter(team=team).values_list("silence_id", flat=True)
        )
        plan = [item for item in plan if item.silence.pk in of_team]
    return render(
        request,
        "silences/list.html",
        {
            "filters": filters,
            "rows": page,
            "page": page,
            "query": query.urlencode(),
            "tabs": [(tab, count) for tab, count in selectors.tab_counts().items()],
            "teams": Team.objects.order_by("name").values_list("slug", "name"),
            "flag_choices": FlagKind.CHOICES,
            "team": team,
            "enforcement_mode": mode,
            "modes": TeamSilenceEnforcement.Mode.choices,
            "may_set_mode": team is not None and can_edit_team_object(request.user, team.pk),
            "may_sync": is_fleet_admin(request.user) and bool(settings.ALERTMANAGER_URL),
            "plan": plan,
            "now": now,
        },
    )


def silence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    silence = get_object_or_404(Silence, pk=pk)
    now = timezone.now()
    held, held_total = selectors.held_back_episodes(silence, now=now)
    return render(
        request,
        "silences/detail.html",
        {
            "silence": silence,
            "coverage": selectors.silence_coverage(silence),
            "teams": silence.teams.order_by("name"),
            "flags": silence_flags([silence], now=now).get(silence.pk, []),
            "events": silence.events.all(),
            "held": held,
            "held_total": held_total,
            "now": now,
        },
    )


@require_POST
def silence_sync_now(request: HttpRequest) -> HttpResponse:
    """Staff: sync the ledger now (and apply enforcement), instead of waiting for the beat."""
    if not is_fleet_admin(request.user):
        raise PermissionDenied("Only staff may sync silences on demand.")
    urls = alertmanager_urls(settings.ALERTMANAGER_URL)
    if not urls:
        messages.error(request, "ALERTMANAGER_URL is not set: there is no Alertmanager to read.")
        return HttpResponseRedirect(reverse("silences:list"))
    try:
        result = silences_sync(urls=urls)
    except AlertmanagerUnavailable as error:
        messages.error(request, f"Alertmanager did not answer; nothing changed. {error}")
        return HttpResponseRedirect(reverse("silences:list"))
    enforced = silences_enforce(urls=urls)
    messages.success(
        request,
        f"Synced: {result.summary()}. Enforcement expired {len(enforced.expired)}, "
        f"{len(enforced.would_expire)} in dry run.",
    )
    return HttpResponseRedirect(reverse("silences:list"))


@require_POST
def team_enforcement(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's enforcement mode: its members or staff set it."""
    team = get_object_or_404(Team, slug=slug)
    if not can_edit_team_object(request.user, team.pk):
        raise PermissionDenied("Only members of the team or staff set its silence enforcement.")
    mode = request.POST.get("mode", "")
    if mode not in TeamSilenceEnforcement.Mode.values:
        messages.error(request, "Pick off, dry run or enforce.")
    else:
        team_enforcement_set(team=team, mode=mode, user=request.user)
        label = TeamSilenceEnforcement.Mode(mode).label
        messages.success(request, f"Silence enforcement for {team.name}: {label}.")
    return HttpResponseRedirect(f"{reverse('silences:list')}?team={team.slug}")
