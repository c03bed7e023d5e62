from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.lint.engine import lint_rule_files
from alerts.lint.output import render
from alerts.lint.types import LintLimitError
from api.exceptions import BodyTooLarge, LimitExceeded
from api.parsers import BoundedJSONParser
from api.permissions import ReadScope
from core.limits import LINT_MAX_BODY_BYTES
from fleet.access import is_fleet_admin, team_ids_for_user
from fleet.models import Team


class RuleFileParser(BaseParser):
    """A Prometheus rule file sent as the raw body; parsed by the linter, not here."""

    media_type = "application/yaml"
    media_types = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return {"body": raw.decode("utf-8")}
        except UnicodeDecodeError as error:
            raise serializers.ValidationError("The rule file is not UTF-8 text.") from error


def _yaml_parser(media: str) -> type[RuleFileParser]:
    return type(
        f"RuleFileParser_{media.replace('/', '_').replace('-', '_')}",
        (RuleFileParser,),
        {"media_type": media},
    )


EXAMPLE_FILE = """groups:
  - name: fraud-scorer
    rules:
      - alert: ModelLatencyHigh
        expr: histogram_quantile(0.99, rate(latency_bucket[5m])) > 0.3
        for: 5m
        labels: {severity: page, team: fraud-ml, layer: infra}
        annotations:
          summary: p99 latency above 300 ms
          runbook_url: https://steward.example.com/runbooks/for/ModelLatencyHigh/
"""
EXAMPLE_REPORT = {
    "ok": False,
    "files": 1,
    "groups": 1,
    "alerts": 1,
    "recording_rules": 0,
    "errors": 1,
    "waived": 0,
    "warnings": 0,
    "violations": [
        {
            "file": "body",
            "line": 10,
            "group": "fraud-scorer",
            "alert": "ModelLatencyHigh",
            "check": "runbook_url",
            "message": "ModelLatencyHigh has no runbook in the Steward catalog: register the "
            "rule and link a runbook to it.",
            "status": "error",
            "waiver": None,
        }
    ],
    "forecasts": [],
}


def _check_size(size: object) -> None:
    """Refuse a body over LINT_MAX_BODY_BYTES from its Content-Length, before it is read (the
    lint parsers read the raw stream, which Django's DATA_UPLOAD_MAX_MEMORY_SIZE never sees),
    and again from what was read."""
    try:
        length = int(str(size or 0))
    except ValueError:
        return
    if length > LINT_MAX_BODY_BYTES:
        raise BodyTooLarge(
            f"The rule files are larger than the {LINT_MAX_BODY_BYTES:,} bytes one lint "
            "request takes; split them over several requests."
        )


class RuleLintView(APIView):
    permission_classes = [ReadScope]
    parser_classes = [*(_yaml_parser(m) for m in RuleFileParser.media_types), MultiPartParser]

    @extend_schema(
        operation_id="rules_lint",
        summary="Lint Prometheus rule files (the CI gate)",
        description=(
            "Send one rule file as the body (`Content-Type: application/yaml`, `text/yaml` or "
            "`text/plain`) or one or more files as `multipart/form-data`. Every alert is "
            "checked for a known owner team, an allowed severity, a layer, a `summary`, a "
            "`runbook_url` that resolves to a Steward runbook and, for page/critical alerts, "
            "`for:` of at least 2 minutes; YAML, structure and PromQL-shape errors come with "
            "their line. `ok` is false when any violation is not waived. `?output=text` or "
            "`?output=github` answer plain text (CI log / GitHub annotations) instead of JSON. "
            "`?forecast=1` replays each alert over the past 7 days on Prometheus. Needs a "
            "`read` token or a logged-in user."
        ),
        parameters=[
            OpenApiParameter("output", str, enum=["json", "text", "github"], required=False),
            OpenApiParameter("forecast", bool, required=False),
            OpenApiParameter(
                "filename",
                str,
                required=False,
                description="Name reported for a raw-body file (default `body`), so that "
                "annotations point at the file in the repository.",
            ),
        ],
        request={
            "application/yaml": OpenApiTypes.STR,
            "text/yaml": OpenApiTypes.STR,
            "text/plain": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            },
        },
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/plain"): OpenApiTypes.STR,
        },
        examples=[
            OpenApiExample(
                "A rule file", value=EXAMPLE_FILE, request_only=True, media_type="application/yaml"
            ),
            OpenApiExample("A failing report", value=EXAMPLE_REPORT, response_only=True),
        ],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        output = request.query_params.get("output", "json")
        if output not in ("json", "text", "github"):
            raise serializers.ValidationError({"output": ["Use json, text or github."]})
        forecast = request.query_params.get("forecast", "") in ("1", "true", "yes")
        if forecast and not settings.PROMETHEUS_URL:
            raise serializers.ValidationError({"forecast": ["PROMETHEUS_URL is not configured."]})
        _check_size(request.META.get("CONTENT_LENGTH"))
        files = self._files(request)
        _check_size(sum(len(text.encode()) for _, text in files))
        try:
            report = lint_rule_files(files, forecast=forecast)
        except LintLimitError as error:
            raise LimitExceeded(str(error)) from error
        if output == "json":
            return Response(report.as_dict())
        return HttpResponse(render(report, output), content_type="text/plain; charset=utf-8")

    def _files(self, request: Request) -> list[tuple[str, str]]:
        if request.FILES:
            files = []
            uploads = [f for key in request.FILES for f in request.FILES.getlist(key)]
            for upload in uploads:
                try:
                    files.append((upload.name or "upload", upload.read().decode("utf-8")))
                except UnicodeDecodeError as error:
                    raise serializers.ValidationError(
                        {"file": [f"{upload.name} is not UTF-8 text."]}
                    ) from error
            return files
        body = request.data.get("body", "") if isinstance(request.data, dict) else ""
        if not body.strip():
            raise serializers.ValidationError(
                "Send a rule file as the body (application/yaml) or as multipart files."
            )
        return [(request.query_params.get("filename") or "body", body)]


class _RuleFileSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=500)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class RuleForecastRequestSerializer(serializers.Serializer[Any]):
    base = _RuleFileSerializer(many=True, help_text="The rule files before the change.")
    new = _RuleFileSerializer(
        many=True, allow_empty=False, help_text="The rule files after the change (linted)."
    )
    days = serializers.FloatField(default=7.0, min_value=0.01, max_value=28.0)
    step = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=3600,
        help_text="Evaluation step in seconds (default STEWARD_REPLAY_EVALUATION_SECONDS).",
    )
    end = serializers.DateTimeField(required=False, help_text="Window end (default now).")


EXAMPLE_FORECAST_REQUEST = {
    "base": [{"name": "rules/fraud.yml", "content": EXAMPLE_FILE}],
    "new": [
        {"name": "rules/fraud.yml", "content": EXAMPLE_FILE.replace("> 0.3", "> 0.2")},
    ],
    "days": 7,
}
EXAMPLE_FORECAST_CHANGE = {
    "window_start": "2026-11-26T12:00:00+00:00",
    "window_end": "2026-12-03T12:00:00+00:00",
    "step_seconds": 60,
    "range_queries": 4,
    "recorded_episodes": 9,
    "teams": [
        {
            "team": "fraud-ml",
            "timezone": "Europe/Berlin",
            "pages_per_week_before": 3.0,
            "pages_per_week_after": 14.0,
            "pages_before": 3,
            "pages_after": 14,
            "sleep_interruptions_before": 1,
            "sleep_interruptions_after": 5,
            "page_budget_per_week": 10,
            "over_budget": True,
            "missed_actionable_count": 0,
            "missed_actionable": [],
        }
    ],
    "changes": [],
    "errors": [],
}


class RuleForecastView(APIView):
    permission_classes = [ReadScope]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="rules_lint_forecast",
        summary="Forecast a rule-file change against Prometheus (the CI page budget)",
        description=(
            "Lints the `new` rule files like `POST /api/v1/rules/lint/` and evaluates the "
            "alerts of `base` and `new` over the last `days` on PROMETHEUS_URL (range queries "
            "split into chunks Prometheus accepts; `for` and `keep_firing_for` applied as "
            "Prometheus does). Per owner team: pages per week and sleep interruptions before "
            "and after, and the recorded episodes someone engaged with or called actionable "
            "that the new rules would not have fired for. `ok` is false (and a `forecast` "
            "error names the rule adding most pages) when a team would exceed its page budget "
            "(STEWARD_PAGE_BUDGET_PER_WEEK, STEWARD_PAGE_BUDGETS) and gets more pages than "
            "before. `?output=text` or `?output=github` answer plain text. Needs a `read` token "
            "or a logged-in user; the missed episodes of a team are listed only to its members, "
            "its team tokens, staff and fleet-wide tokens (others see their count)."
        ),
        parameters=[
            OpenApiParameter("output", str, enum=["json", "text", "github"], required=False)
        ],
        request=RuleForecastRequestSerializer,
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/plain"): OpenApiTypes.STR,
        },
        examples=[
            OpenApiExample("A change", value=EXAMPLE_FORECAST_REQUEST, request_only=True),
            OpenApiExample(
                "Over a page budget",
                value={**EXAMPLE_REPORT, "forecast_change": EXAMPLE_FORECAST_CHANGE},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        output = request.query_params.get("output", "json")
        if output not in ("json", "text", "github"):
            raise serializers.ValidationError({"output": ["Use json, text or github."]})
        if not settings.PROMETHEUS_URL:
            raise serializers.ValidationError("PROMETHEUS_URL is not configured.")
        _check_size(request.META.get("CONTENT_LENGTH"))
        serializer = RuleForecastRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new = [(f["name"], f["content"]) for f in data["new"]]
        base = [(f["name"], f["content"]) for f in data["base"]]
        _check_size(sum(len(text.encode()) for _, text in (*new, *base)))
        try:
            report = lint_rule_files(
                new,
                forecast=True,
                base=base,
                forecast_window=timedelta(days=data["days"]),
                forecast_step=data.get("step"),
                forecast_end=data.get("end"),
                visible_teams=_visible_teams(request),
            )
        except LintLimitError as error:
            raise LimitExceeded(str(error)) from error
        if output == "json":
            return Response(report.as_dict())
        return HttpResponse(render(report, output), content_type="text/plain; charset=utf-8")


def _visible_teams(request: Request) -> set[str] | None:
    """Slugs of the teams whose episodes the caller may see listed (None: every team)."""
    if is_fleet_admin(request.user):
        return None
    ids = team_ids_for_user(request.user)
    return set(Team.objects.filter(pk__in=ids).values_list("slug", flat=True))
