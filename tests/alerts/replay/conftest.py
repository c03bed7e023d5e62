"""The review fixtures (rules, pinned clock) for the replay tests."""

from tests.alerts.review.conftest import (  # noqa: F401 (fixtures)
    _pinned_now,
    make_rule,
    week,
)
