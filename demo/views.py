"""The demo's automation receiver (demo/automation.py), served by Steward itself in the demo."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from demo import automation

logger = logging.getLogger(__name__)


@login_not_required  # authenticated by the HMAC signature, as any receiver of Steward's actions
@csrf_exempt
@require_POST
def traffic_shift_receiver(request: HttpRequest) -> JsonResponse:
    if not settings.STEWARD_DEMO:
        raise Http404("The demo receiver answers only in the demo (STEWARD_DEMO=1, DEBUG).")
    status, answer = automation.receive(request.body, request.headers)
    logger.info(
        "demo receiver: %s (idempotency key %s)",
        "accepted" if status == 200 else answer.get("error"),
        request.headers.get("X-Steward-Idempotency-Key", "-"),
    )
    return JsonResponse(answer, status=status)
