"""GET /api/v1/alert-rules/<id>/replay/: the replay grid of one rule as JSON."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import AlertRule
from alerts.replay.routing import RoutingError
from alerts.replay.views import grid_report
from api.permissions import ReadScope


class RuleReplayView(APIView):
    permission_classes = [ReadScope]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Replay a rule's last weeks under every for/keep_firing_for on the grid",
        description=(
            "The rule's recorded episodes of the last STEWARD_REPLAY_WEEKS weeks replayed with "
            "Prometheus's `for` / `keep_firing_for` semantics and Alertmanager's notification "
            "timing, for its current settings and every candidate on the grid: fires, "
            "notifications, pages, interruptions, transient and flapping episodes removed, "
            "detection delay added and regret (engaged or actionable episodes dropped or "
            "delayed), plus the suggested change when there is one."
        ),
        examples=[
            OpenApiExample(
                "A rule with a suggestion",
                response_only=True,
                value={
                    "rule": 12,
                    "alertname": "GpuTempBlip",
                    "window": {
                        "start": "2026-10-21T12:00:00+00:00",
                        "end": "2026-11-18T12:00:00+00:00",
                    },
                    "current": {"for": "0s", "keep_firing_for": "0s", "pages": 48},
                    "candidates": [
                        {"for": "2m", "keep_firing_for": "0s", "pages": 1, "regret": []}
                    ],
                    "suggestion": {
                        "text": "adding `for: 2m` would have removed 47 of 48 pages last 4 "
                        "weeks (20 nights), delayed nothing that anyone acted on",
                        "proposed_change": {"for": "2m", "keep_firing_for": "0s"},
                        "snippet": "- alert: GpuTempBlip\n  expr: gpu_temp > 90\n  for: 2m",
                    },
                },
            )
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=pk)
        try:
            return Response(grid_report(rule, now=timezone.now()))
        except RoutingError as error:
            return Response({"detail": str(error)}, status=400)
