"""Runbook pages and the on-call entry point. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fleet.access import can_edit_team_object
from fleet.models import Team
from runbooks import selectors, services
from runbooks.csp import csp_protected
from runbooks.forms import RunbookForm
from runbooks.models import Runbook
from runbooks.rendering import render_runbook_html


def _runbook_for_editing(request: HttpRequest, slug: str) -> Runbook:
    runbook = selectors.runbook_get(slug=slug)
    if not can_edit_team_object(request.user, runbook.owner_team_id):
        raise PermissionDenied("Only members of the owning team or staff can change this runbook.")
    return runbook


@csp_protected
def runbook_list(request: HttpRequest) -> HttpResponse:
    team_slug = request.GET.get("team", "")
    stale = request.GET.get("stale", "")
    context = {
        "runbooks": selectors.runbook_list(team_slug=team_slug, stale=stale),
        "teams": Team.objects.order_by("name"),
        "team_slug": team_slug,
        "stale": stale,
        "now": timezone.now(),
    }
    return render(request, "runbooks/list.html", context)


@csp_protected
def runbook_detail(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = selectors.runbook_get(slug=slug)
    context = {
        "runbook": runbook,
        "html": render_runbook_html(runbook.body),
        "rules": selectors.runbook_rules(runbook=runbook),
        "can_edit": can_edit_team_object(request.user, runbook.owner_team_id),
    }
    return render(request, "runbooks/detail.html", context)


@csp_protected
@require_http_methods(["GET", "POST"])
def runbook_edit(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = _runbook_for_editing(request, slug)
    form = RunbookForm(request.POST or None, user=request.user, instance=runbook)
    form.fields["slug"].disabled = True
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = render_runbook_html(form.cleaned_data["body"])
        else:
            services.runbook_save(
                runbook=form.instance, author=request.user, note=form.cleaned_data["note"]
            )
            messages.success(request, "Runbook saved.")
            return redirect("runbooks:detail", slug=runbook.slug)
    context = {"form": form, "preview": preview, "runbook": runbook, "creating": False}
    return render(request, "runbooks/form.html", context)


def _revision_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@csp_protected
def runbook_history(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = selectors.runbook_get(slug=slug)
    revisions = list(selectors.runbook_revisions(runbook=runbook))
    by_id = {revision.pk: revision for revision in revisions}
    older_id = _revision_id(request.GET.get("a"))
    newer_id = _revision_id(request.GET.get("b"))
    if older_id is None and newer_id is None and len(revisions) >= 2:
        older_id, newer_id = revisions[1].pk, revisions[0].pk
    diff = None
    older = by_id.get(older_id) if older_id is not None else None
    newer = by_id.get(newer_id) if newer_id is not None else None
    if (older_id is not None or newer_id is not None) and (older is None or newer is None):
        messages.error(request, "Pick two revisions of this runbook to compare.")
    elif older is not None and newer is not None:
        diff = selectors.revision_diff(older, newer)
    context = {
        "runbook": runbook,
        "revisions": revisions,
        "older": older,
        "newer": newer,
        "diff": diff,
    }
    return render(request, "runbooks/history.html", context)


@csp_protected
@require_POST
def runbook_review(request: HttpRequest, slug: str) -> HttpResponseBase:
    runbook = _runbook_for_editing(request, slug)
    services.runbook_mark_reviewed(runbook=runbook)
    messages.success(request, "Marked as reviewed: the runbook is fresh again.")
    return redirect("runbooks:detail", slug=runbook.slug)
