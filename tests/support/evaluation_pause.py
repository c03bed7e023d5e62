"""Test seam: hold an evaluation inside its write transaction, so a test can kill the worker
in the middle of it. Connected only under the test settings (tests.support is an app there).

A worker subprocess started with STEWARD_TEST_EVALUATION_PAUSE_SECONDS=<seconds> and
DJANGO_SETTINGS_MODULE=config.settings_test sleeps that long at `evaluation_writing`.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from alerts.signals import evaluation_writing

PAUSE_ENV = "STEWARD_TEST_EVALUATION_PAUSE_SECONDS"

logger = logging.getLogger(__name__)


def pause_inside_evaluation(sender: Any, week: str, **kwargs: Any) -> None:
    seconds = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if seconds > 0:
        logger.warning("%s=%s: pausing inside the evaluation of %s", PAUSE_ENV, seconds, week)
        time.sleep(seconds)


def connect() -> None:
    evaluation_writing.connect(pause_inside_evaluation, dispatch_uid="test-evaluation-pause")
