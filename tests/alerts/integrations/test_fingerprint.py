from __future__ import annotations

import pytest

from alerts.integrations.alertmanager.fingerprint import fingerprint
from tests.alerts.integrations.conftest import capture

PAIRS = {
    (tuple(sorted(alert["labels"].items())), alert["fingerprint"])
    for delivery in capture()
    for alert in delivery["alerts"]
}


@pytest.mark.parametrize(("labels", "expected"), sorted(PAIRS))
def test_fingerprint_equals_alertmanagers(
    labels: tuple[tuple[str, str], ...], expected: str
) -> None:
    assert fingerprint(dict(labels)) == expected


def test_empty_label_set_is_fnv_offset() -> None:
    assert fingerprint({}) == "cbf29ce484222325"


def test_fingerprint_depends_on_values_not_order() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1", "b": "2"}) != fingerprint({"a": "2", "b": "1"})
