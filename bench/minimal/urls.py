"""One view: parse an Alertmanager v4 body and upsert its episodes in one statement."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

# The same conflict rule as alerts/ingest/upsert.py: ends_at only moves from null to a time or
# to an earlier time; counters bump.
UPSERT = """
INSERT INTO alerts_episode (rule_id, fingerprint, labels, annotations, starts_at, ends_at,
    source, generator_url, notification_count, last_notified_at, created_at, updated_at)
SELECT %s, f, l::jsonb, a::jsonb, s::timestamptz, e::timestamptz, 'prometheus', g, 1,
    now(), now(), now()
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
    AS t(f, l, a, s, e, g)
ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
    ends_at = CASE WHEN alerts_episode.ends_at IS NULL THEN excluded.ends_at
        WHEN excluded.ends_at IS NOT NULL AND excluded.ends_at < alerts_episode.ends_at
        THEN excluded.ends_at ELSE alerts_episode.ends_at END,
    annotations = excluded.annotations,
    notification_count = alerts_episode.notification_count + 1,
    last_notified_at = excluded.last_notified_at,
    updated_at = excluded.updated_at
"""


@csrf_exempt
def upsert(request: HttpRequest) -> HttpResponse:
    if request.META.get("HTTP_AUTHORIZATION") != f"Bearer {settings.BENCH_TOKEN}":
        return JsonResponse({"status": "error"}, status=401)
    alerts = json.loads(request.body)["alerts"]
    # One row per (fingerprint, startsAt), as ON CONFLICT needs; bench bodies never repeat one.
    columns: list[list[str | None]] = [[], [], [], [], [], []]
    for alert in alerts:
        columns[0].append(alert["fingerprint"])
        columns[1].append(json.dumps(alert["labels"]))
        columns[2].append(json.dumps(alert["annotations"]))
        columns[3].append(alert["startsAt"])
        columns[4].append(alert["endsAt"] if alert["status"] == "resolved" else None)
        columns[5].append(alert["generatorURL"])
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, [settings.BENCH_RULE_ID, *columns])
    response = JsonResponse({"status": "ok", "alerts": len(alerts)})
    response["Content-Length"] = str(len(response.content))  # keep-alive without chunking
    return response


urlpatterns = [path("upsert/", upsert)]
