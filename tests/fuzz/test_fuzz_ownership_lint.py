"""The ownership and lint APIs under hostile input: never a 5xx, and neither writes a row."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.lint.api import EXAMPLE_FILE
from alerts.models import AlertRule, Episode
from tests.fuzz.conftest import fresh
from tests.fuzz.strategies import (
    DEEP,
    HOSTILE_TEXT,
    budget,
    encode,
    hostile_json_value,
    hostile_text,
    mutated,
    query,
)

BATCH_EXAMPLE = {
    "alerts": [
        {"alertname": "ModelLatencyHigh", "labels": {"model": "fraud-scorer"}},
        {"alertname": "SomethingNew", "labels": {}},
    ]
}
RULE_FILE = yaml.safe_load(EXAMPLE_FILE)
# YAML no JSON encoder writes: anchors and aliases, tags, deep flow nesting, bytes.
RAW_RULE_FILES = {
    "aliases 30x30": "a: &a [" + ",".join(["x"] * 30) + "]\nb: &b [" + ",".join(["*a"] * 30) + "]\n"
    "groups: [{name: g, rules: [" + ",".join(["{alert: A, expr: up, labels: *b}"] * 30) + "]}]\n",
    "flow nesting 500": "groups: " + "[" * 500 + "]" * 500 + "\n",
    "block nesting 200": "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
    "python tag": "groups: !!python/object/apply:os.system ['true']\n",
    "binary tag": "groups: !!binary AAAA\n",
    "nul": "groups:\x00\n",
    "tabs": "groups:\n\t- name: g\n",
    "merge key": "x: &x {alert: A}\ngroups: [{name: g, rules: [{<<: *x, expr: up}]}]\n",
    "huge int": "groups: [{name: g, interval: " + "9" * 5000 + ", rules: []}]\n",
    "duplicate keys": "groups: []\ngroups: 5\n",
    "documents": "---\ngroups: []\n---\ngroups: []\n",
    "only a comment": "# nothing\n",
}


def _counts() -> tuple[int, int]:
    return AlertRule.objects.count(), Episode.objects.count()


def _no_5xx(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])


@settings(max_examples=budget(60))
@given(
    alertname=st.one_of(st.just("ModelLatencyHigh"), hostile_text()),
    labels=st.dictionaries(
        st.one_of(st.sampled_from(["model", "env", "team"]), hostile_text()),
        hostile_text(),
        max_size=4,
    ),
)
def test_ownership_lookup_never_fails(
    world: dict[str, Any], alertname: str, labels: dict[str, str]
) -> None:
    before = _counts()
    with fresh():
        response = Client().get(
            f"/api/v1/ownership/?{query({**labels, 'alertname': alertname})}",
            HTTP_AUTHORIZATION=f"Bearer {world['tokens']['read']}",
        )
        _no_5xx(response)
        assert _counts() == before, "a lookup wrote rows"
        if response.status_code == 200:
            # the server reads the query string as UTF-8, replacing what is not (a surrogate)
            received = alertname.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            assert response.json()["alertname"] == received.strip()


@settings(max_examples=budget(60))
@given(data=st.data())
def test_ownership_batch_never_fails(world: dict[str, Any], data: st.DataObject) -> None:
    body = encode(data.draw(mutated(BATCH_EXAMPLE), label="body"))
    before = _counts()
    with fresh():
        response = Client().post(
            "/api/v1/ownership/",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world['tokens']['read']}",
        )
        _no_5xx(response)
        assert _counts() == before, "a lookup wrote rows"
        if response.status_code == 200:
            assert len(response.json()["results"]) == len(json.loads(body)["alerts"])


def _lint(world: dict[str, Any], body: str | bytes, params: dict[str, str]) -> Any:
    return Client().post(
        f"/api/v1/rules/lint/?{query(params)}",
        data=body,
        content_type="application/yaml",
        HTTP_AUTHORIZATION=f"Bearer {world['tokens']['read']}",
    )


@settings(max_examples=budget(60))
@given(
    data=st.data(),
    params=st.fixed_dictionaries(
        {},
        optional={
            "output": st.sampled_from(["json", "text", "github", *HOSTILE_TEXT[:8]]),
            "filename": hostile_text(),
            "forecast": st.sampled_from(["", "0", "%00"]),
        },
    ),
)
def test_lint_never_fails_on_a_hostile_rule_file(
    world: dict[str, Any], data: st.DataObject, params: dict[str, str]
) -> None:
    # JSON is YAML: a mutated rule file written as JSON reaches the linter with hostile values.
    body = encode(data.draw(mutated(RULE_FILE), label="rule file"))
    before = _counts()
    with fresh():
        _no_5xx(_lint(world, body, params))
        assert _counts() == before, "linting wrote rows"


@settings(max_examples=budget(len(RAW_RULE_FILES) * 2))
@given(name=st.sampled_from(sorted(RAW_RULE_FILES)), value=hostile_json_value())
def test_lint_never_fails_on_raw_yaml(world: dict[str, Any], name: str, value: Any) -> None:
    body = RAW_RULE_FILES[name].encode("utf-8", "surrogatepass")
    with fresh():
        _no_5xx(_lint(world, body, {}))
        # and the same value dropped into a rule's labels
        rule_file = json.loads(json.dumps(RULE_FILE))
        rule_file["groups"][0]["rules"][0]["labels"]["team"] = value
        _no_5xx(_lint(world, encode(rule_file), {}))


def test_deep_marker_reaches_the_lint_body(world: dict[str, Any]) -> None:
    """The control for the strategies: the marker does become deep nesting in the body."""
    assert encode({"groups": DEEP}).count(b"[") > 1000
