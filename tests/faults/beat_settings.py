"""Settings for the two-beats fault test: the real settings with a one-second schedule.

Selected with DJANGO_SETTINGS_MODULE=tests.faults.beat_settings by the beat processes that
tests/faults/test_two_beats.py starts; never used by a deployment.
"""

from config.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    # Ticks of one second are one-second slots: the two beats' requests of one second are
    # one tick, evaluated once (alerts/tasks.py `evaluate_current_week`).
    "evaluate-current-week": {
        "task": "steward.evaluate_current_week",
        "schedule": 1.0,
        "kwargs": {"slot_seconds": 1},
    },
}
