"""Catalog pages: /alerts/ and /alerts/<id>/."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from alerts import selectors
from alerts.models import AlertRule, Flag
from alerts.review.selectors import silence_trouble
from core.choices import Layer, Severity
from core.weeks import current_week, weeks_back
from fleet.models import Team

SPARK_WEEKS = 8
PAGE_SIZE = 50


def _filters(request: HttpRequest) -> selectors.CatalogFilters:
    def choice(name: str, allowed: list[str]) -> str:
        value = request.GET.get(name, "")
        return value if value in allowed else ""

    return selectors.CatalogFilters(
        team=request.GET.get("team", "")[:50],
        layer=choice("layer", Layer.values),
        severity=choice("severity", Severity.values),
        status=choice("status", AlertRule.Status.values),
        flag=choice("flag", Flag.values),
        uncatalogued=request.GET.get("uncatalogued") == "1",
        firing=request.GET.get("firing") == "1",
    )


def rule_list(request: HttpRequest) -> HttpResponse:
    week = current_week()
    weeks = weeks_back(week, SPARK_WEEKS)
    filters = _filters(request)
    now = timezone.now()
    rules = selectors.rules_for_catalog(filters, week=week, now=now)
    firing = None
    if filters.firing:
        matching = selectors.rules_matching(filters, week=week)
        firing = selectors.firing_now(now=now, rules=matching, limit=PAGE_SIZE)
    page = Paginator(rules, PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [rule.pk for rule in page]
    flags = selectors.flags_by_rule(ids, week=week)
    fires = selectors.weekly_fires(ids, weeks=weeks)
    rows = [(rule, flags.get(rule.pk, []), fires[rule.pk]) for rule in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "alerts/rule_list.html",
        {
            "week": week,
            "weeks": weeks,
            "rows": rows,
            "page": page,
            "firing": firing,
            "filters": filters,
            "query": query.urlencode(),
            "teams": Team.objects.order_by("name").values_list("slug", "name"),
            "layers": Layer.choices,
            "severities": Severity.choices,
            "statuses": AlertRule.Status.choices,
            "flag_choices": Flag.choices,
        },
    )


def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(
        AlertRule.objects.select_related("owner_team", "system", "runbook"), pk=pk
    )
    week = current_week()
    weeks = weeks_back(week, SPARK_WEEKS)
    stats = selectors.rule_weeks(rule, weeks=weeks)
    episodes = Paginator(selectors.rule_episodes(rule), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    this_rule = AlertRule.objects.filter(pk=rule.pk)
    return render(
        request,
        "alerts/rule_detail.html",
        {
            "rule": rule,
            "week": week,
            "flags": selectors.flags_by_rule([rule.pk], week=week).get(rule.pk, []),
            "stats": list(zip(weeks, stats, strict=True)),
            "fires": [row.fires if row else 0 for row in stats],
            "episodes": [(episode, episode.duration_seconds(now=now)) for episode in episodes],
            "page": episodes,
            "runbook_stale": rule.runbook.is_stale(now=now) if rule.runbook else False,
            "members": rule.owner_team.memberships.count() if rule.owner_team else 0,
            "firing": selectors.firing_now(now=now, rules=this_rule),
            "for_seconds": rule.for_duration.total_seconds() if rule.for_duration else None,
            # Only a muted rule can have a mute whose silence went missing.
            "silence_trouble": (
                silence_trouble(rule=rule) if rule.status == AlertRule.Status.MUTED else []
            ),
        },
    )
