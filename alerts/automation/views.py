"""Automation pages: the actions list, an action's page, and the manual trigger (dry run, run,
approval, break glass) that the on-call page's buttons post to. Thin: the services decide."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from alerts.automation import pages, rendering, selectors, services
from alerts.automation.guardrails import AutomationRefused, may_manage
from alerts.automation.models import Action, ActionRun
from alerts.models import Episode
from core.secrets import SecretUnreadable
from fleet.access import is_fleet_admin


def _action_for(request: HttpRequest, action_id: int) -> Action:
    """Team-scoped: someone else's action is a 404, not a 403 (its name is not leaked)."""
    return get_object_or_404(pages.actions_visible(request.user), pk=action_id)


def _episode_for(request: HttpRequest, action: Action) -> Episode:
    """The episode named by the form: one of the action's rules (through its runbook)."""
    try:
        episode_id = int(request.POST.get("episode", ""))
    except ValueError:
        raise Http404("No episode given.") from None
    return get_object_or_404(
        Episode.objects.select_related("rule", "system"),
        pk=episode_id,
        rule__runbook_id=action.runbook_id,
    )


def _back(request: HttpRequest, action: Action) -> HttpResponseBase:
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect("automation:action", action_id=action.pk)


@require_GET
def action_list(request: HttpRequest) -> HttpResponse:
    context = {
        "actions": list(pages.actions_visible(request.user)),
        "status": selectors.automation_status(),
        "approvals": list(selectors.approvals_waiting(request.user)),
        "fleet_events": selectors.events_fleet(limit=20) if request.user.is_staff else [],
    }
    return render(request, "automation/action_list.html", context)


@require_GET
def action_detail(request: HttpRequest, action_id: int) -> HttpResponse:
    action = _action_for(request, action_id)
    context = {
        "action": action,
        "may_manage": may_manage(request.user, action),
        "state": pages.guardrail_state(action, now=timezone.now()),
        "status": selectors.automation_status(),
        "runs": selectors.runs_for_action(action.pk, limit=50),
        "events": selectors.events_for_action(action.pk),
        "approvals": [
            r
            for r in selectors.approvals_waiting(request.user)
            if r.action_id == action.pk and may_manage(request.user, action)
        ],
    }
    return render(request, "automation/action_detail.html", context)


@require_POST
def action_dry_run(request: HttpRequest, action_id: int) -> HttpResponse:
    """The manual trigger's first step: the exact request, secrets masked; nothing is sent."""
    action = _action_for(request, action_id)
    episode = _episode_for(request, action)
    error = ""
    preview = None
    try:
        preview = services.dry_run_preview(action=action, episode=episode, user=request.user)
    except AutomationRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except (rendering.RenderError, SecretUnreadable) as failure:
        error = str(failure)
    context = {
        "action": action,
        "episode": episode,
        "preview": preview,
        "error": error,
        "next": request.POST.get("next", ""),
        "status": selectors.automation_status(),
    }
    return render(request, "automation/dry_run.html", context)


@require_POST
def action_run(request: HttpRequest, action_id: int) -> HttpResponseBase:
    action = _action_for(request, action_id)
    episode = _episode_for(request, action)
    reason = request.POST.get("break_glass_reason", "")
    kind = ActionRun.TriggerKind.MANUAL
    if request.POST.get("break_glass"):
        kind = ActionRun.TriggerKind.BREAK_GLASS
    try:
        run = services.run_trigger(
            action=action,
            episode=episode,
            user=request.user,
            kind=kind,
            break_glass_reason=reason,
        )
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return _back(request, action)
    level = messages.error if run.state == ActionRun.State.REFUSED else messages.success
    detail = run.refusal or run.outcome
    level(request, f"{action.name}: {run.get_state_display()}" + (f" — {detail}" if detail else ""))
    return _back(request, action)


@require_POST
def run_decide(request: HttpRequest, run_id: int) -> HttpResponseBase:
    """Approve or reject a high-risk run (a second member of the owning team)."""
    run = get_object_or_404(pages.runs_visible(request.user), pk=run_id)
    try:
        if request.POST.get("decision") == "reject":
            run = services.run_reject(
                run=run, user=request.user, reason=request.POST.get("reason", "")
            )
        else:
            run = services.run_approve(run=run, user=request.user)
        messages.success(request, f"{run.action.name}: {run.get_state_display()}")
    except AutomationRefused as refused:
        messages.error(request, str(refused))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
    return _back(request, run.action)


@require_POST
def action_manage(request: HttpRequest, action_id: int) -> HttpResponseBase:
    """The owner's buttons: promote out of dry run, the per-action kill switch."""
    action = _action_for(request, action_id)
    op = request.POST.get("op", "")
    try:
        if op == "promote":
            services.action_promote(action=action, user=request.user)
            messages.success(request, "Promoted: the next triggers send real requests.")
        elif op == "disable":
            reason = request.POST.get("reason", "").strip()
            if not reason:
                messages.error(request, "Say why the action is switched off.")
                return _back(request, action)
            services.action_disable(action=action, user=request.user, reason=reason)
            messages.success(request, "Action switched off.")
        elif op == "enable":
            services.action_enable(action=action, user=request.user)
            messages.success(request, "Action switched on.")
        else:
            return HttpResponse("Unknown operation.", status=400)
    except AutomationRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    return _back(request, action)


@require_POST
def switch_set(request: HttpRequest) -> HttpResponseBase:
    """The global kill switch and the breaker reset (staff)."""
    if not is_fleet_admin(request.user):
        raise PermissionDenied("Only staff may switch automation on or off.")
    op = request.POST.get("op", "")
    try:
        if op == "reset_breaker":
            services.breaker_reset(user=request.user)
            messages.success(request, "Circuit breaker reset: automatic runs resume.")
        elif op in ("on", "off"):
            reason = request.POST.get("reason", "").strip()
            if op == "off" and not reason:
                messages.error(request, "Say why automation is switched off.")
                return redirect("automation:list")
            services.automation_switch_set(user=request.user, enabled=op == "on", reason=reason)
            messages.success(request, f"Automation switched {op} fleet-wide.")
        else:
            return HttpResponse("Unknown operation.", status=400)
    except AutomationRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    return redirect("automation:list")
