from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops import readiness
from ops.access import metrics_access_allowed, readiness_details_allowed
from ops.exposition import render_metrics


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving; touches nothing else, so it cannot flap with the DB."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database reachable, migrations applied, broker reachable if used.

    Anyone learns the status and which check fails (load balancers, `deploy/healthcheck.py`
    read only the status code); the error texts only `readiness_details_allowed` callers.
    """
    checks = readiness.checks_run()
    ready = all(error is None for error in checks.values())
    show = readiness.check_detail if readiness_details_allowed(request) else readiness.check_summary
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {name: show(error) for name, error in checks.items()},
        },
        status=200 if ready else 503,
    )


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_access_allowed(request):
        return JsonResponse({"error": "metrics access denied"}, status=403)
    body, content_type = render_metrics(include_database=True)
    return HttpResponse(body, content_type=content_type)
