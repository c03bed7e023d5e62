from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from alerts.automation.pages import oncall_automation
from alerts.models import AlertRule
from alerts.oncall import selectors, services
from alerts.services import feedback_record
from fleet.access import can_edit_or_claim, can_edit_team_object, is_fleet_admin, team_ids_for_user
from runbooks.csp import csp_protected
from runbooks.forms import RUNBOOK_TEMPLATE, FeedbackForm, RunbookForm
from runbooks.links import new_runbook_url
from runbooks.models import Runbook
from runbooks.rendering import render_runbook_html


def _rule_to_link(request: HttpRequest) -> AlertRule | None:
    """The rule named by `?alertname=` (and label params) if this user may edit it."""
    alertname = request.GET.get("alertname", "")
    if not alertname:
        return None
    labels = selectors.oncall_labels(request.GET)
    rule = selectors.oncall_resolution(alertname=alertname, labels=labels).rule
    if rule is None or not can_edit_team_object(request.user, rule.owner_team_id):
        return None
    return rule


@csp_protected
@require_http_methods(["GET", "POST"])
def runbook_new(request: HttpRequest) -> HttpResponse:
    if not is_fleet_admin(request.user) and not team_ids_for_user(request.user):
        raise PermissionDenied("You need to be in a team (or staff) to write runbooks.")
    rule = _rule_to_link(request)
    form = RunbookForm(request.POST or None, user=request.user, instance=Runbook())
    if request.method == "GET":
        form.initial.update({"body": RUNBOOK_TEMPLATE})
        if rule is not None:
            form.initial.update({"title": rule.alertname, "owner_team": rule.owner_team_id})
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = render_runbook_html(form.cleaned_data["body"])
        else:
            runbook = services.runbook_create_for_alert(
                runbook=form.instance,
                author=request.user,
                note=form.cleaned_data["note"],
                rule=rule,
            )
            messages.success(request, f"Runbook “{runbook.title}” created.")
            return redirect("runbooks:detail", slug=runbook.slug)
    context = {
        "form": form,
        "preview": preview,
        "rule": rule,
        "requested_alertname": request.GET.get("alertname", ""),
        "creating": True,
    }
    return render(request, "runbooks/form.html", context)


@csp_protected
@require_http_methods(["GET", "POST"])
def runbook_for_alert(request: HttpRequest, alertname: str) -> HttpResponseBase:
    labels = selectors.oncall_labels(request.GET)
    if request.method == "POST":
        return _oncall_feedback(request, alertname, labels)
    oncall = selectors.oncall_context(alertname=alertname, labels=labels, now=timezone.now())
    services.oncall_view_record(episodes=oncall.engaged, user=request.user)
    runbook = oncall.runbook
    owner_team_id = oncall.team.pk if oncall.team is not None else None
    may_write = can_edit_or_claim(request.user, owner_team_id)
    context = {
        "oncall": oncall,
        "runbook": runbook,
        "html": render_runbook_html(runbook.body) if runbook is not None else "",
        "feedback": selectors.feedback_for(episode=oncall.focus, user=request.user),
        "may_write": may_write,
        "fallback_contact": settings.STEWARD_FALLBACK_CONTACT,
        "new_runbook_url": new_runbook_url(alertname, labels),
        "automation": oncall_automation(rule=oncall.rule, focus=oncall.focus, user=request.user),
    }
    return render(request, "runbooks/oncall.html", context)


def _oncall_feedback(request: HttpRequest, alertname: str, labels: dict[str, str]) -> HttpResponse:
    """Store "actionable"/"noise" for one episode of the rule this page resolves to."""
    rule = selectors.oncall_resolution(alertname=alertname, labels=labels).rule
    form = FeedbackForm(request.POST)
    if rule is None or not form.is_valid():
        return HttpResponse("Feedback needs an episode of this alert and a verdict.", status=400)
    if not isinstance(request.user, User):
        raise PermissionDenied("Log in to give feedback.")
    episode = selectors.oncall_episode(rule=rule, episode_id=form.cleaned_data["episode"])
    feedback_record(
        episode=episode,
        user=request.user,
        actionable=form.cleaned_data["verdict"] == "actionable",
        note=form.cleaned_data["note"],
    )
    messages.success(request, "Thanks: your verdict on this episode is recorded.")
    return redirect(request.get_full_path())
