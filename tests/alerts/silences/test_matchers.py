"""Alertmanager's matcher semantics (alerts/silences/matchers.py): operators, anchoring, missing
labels, the matchers of a rule, and what a silence covers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.models import AlertRule
from alerts.silences.matchers import (
    Coverage,
    Matcher,
    MatcherError,
    matchers_text,
    rule_coverage,
    rule_matchers,
    silence_matches,
)

LABELS = {"alertname": "ModelLatencyHigh", "model": "fraud-scorer", "env": "prod"}


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        (Matcher("model", "fraud-scorer"), True),
        (Matcher("model", "fraud"), False),
        (Matcher("model", "fraud-scorer", is_equal=False), False),
        (Matcher("model", "other", is_equal=False), True),
        (Matcher("model", "fraud-.*", is_regex=True), True),
        # Fully anchored: a regex matching part of the value does not match.
        (Matcher("model", "fraud", is_regex=True), False),
        (Matcher("model", "scorer", is_regex=True), False),
        (Matcher("model", "fraud|recommender", is_regex=True), False),
        (Matcher("model", "fraud-scorer|recommender", is_regex=True), True),
        (Matcher("model", "fraud", is_regex=True, is_equal=False), True),
        (Matcher("model", "fraud.*", is_regex=True, is_equal=False), False),
        # A missing label is "".
        (Matcher("team", ""), True),
        (Matcher("team", "", is_equal=False), False),
        (Matcher("team", ".+", is_regex=True, is_equal=False), True),
        (Matcher("team", ".*", is_regex=True), True),
        (Matcher("team", "x"), False),
        (Matcher("team", "x", is_equal=False), True),
    ],
    ids=str,
)
def test_operators(matcher: Matcher, expected: bool) -> None:
    assert silence_matches([matcher], LABELS) is expected


def test_every_matcher_must_hold() -> None:
    assert silence_matches(
        [Matcher("alertname", "ModelLatencyHigh"), Matcher("env", "prod")], LABELS
    )
    assert not silence_matches(
        [Matcher("alertname", "ModelLatencyHigh"), Matcher("env", "staging")], LABELS
    )
    assert silence_matches([], LABELS)  # no matcher (Alertmanager refuses it, but it is vacuous)


def test_api_shape_round_trip_and_text() -> None:
    data = {"name": "model", "value": "a|b", "isRegex": True, "isEqual": False}
    matcher = Matcher.from_api(data)
    assert matcher == Matcher("model", "a|b", is_regex=True, is_equal=False)
    assert matcher.to_api() == data
    assert Matcher.from_api({"name": "x", "value": "y", "isRegex": False}).is_equal is True
    assert matchers_text([Matcher("alertname", "A"), matcher, Matcher("q", 'say "hi"')]) == (
        '{alertname="A", model!~"a|b", q="say \\"hi\\""}'
    )


@pytest.mark.parametrize(
    "data",
    [
        {"value": "x"},
        {"name": "", "value": "x"},
        {"name": "a", "value": 3},
        {"name": "a", "value": "(", "isRegex": True},
    ],
)
def test_unreadable_matchers_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(MatcherError):
        Matcher.from_api(data)


# Property tests: anchoring compared with Python's own full match, on random regexes built from
# literals, classes, alternations and repetitions, and random values.
_atoms = st.sampled_from(["a", "b", "ab", ".", "[ab]", "[^a]", "\\.", "x"])
_regex = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]}|{pair[1]}"),
        inner.map(lambda r: f"({r})*"),
        inner.map(lambda r: f"({r})+"),
        inner.map(lambda r: f"({r})?"),
    ),
    max_leaves=6,
)
_values = st.text(alphabet="abx.", max_size=8)


@given(regex=_regex, value=_values)
def test_regex_matchers_are_fully_anchored(regex: str, value: str) -> None:
    expected = re.fullmatch(regex, value) is not None
    assert Matcher("l", regex, is_regex=True).matches(value) is expected
    assert Matcher("l", regex, is_regex=True, is_equal=False).matches(value) is not expected
    # An alternation is anchored as a whole: `^(?:a|b)$`, never `^a|b$`.
    assert Matcher("l", f"{regex}|zzz", is_regex=True).matches(value) is expected


_literal_regex = st.recursive(
    st.sampled_from(["a", "b", "ab", "[ab]", "\\.", "x"]),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]}|{pair[1]}"),
        inner.map(lambda r: f"({r})+"),
    ),
    max_leaves=6,
)


@given(regex=_literal_regex, value=_values)
def test_a_match_inside_the_value_is_not_a_match(regex: str, value: str) -> None:
    """Regexes that cannot produce "%": surrounded by "%", the value never matches, even
    where an unanchored search finds the regex inside it."""
    padded = f"%{value}%"
    assert not Matcher("l", regex, is_regex=True).matches(padded)
    assert Matcher("l", regex, is_regex=True, is_equal=False).matches(padded)


@given(value=_values, other=_values)
def test_equality_matchers_agree_with_literal_regex(value: str, other: str) -> None:
    for is_equal in (True, False):
        literal = Matcher("l", value, is_equal=is_equal)
        regex = Matcher("l", re.escape(value), is_regex=True, is_equal=is_equal)
        assert literal.matches(other) is regex.matches(other)


@given(labels=st.dictionaries(st.sampled_from(["a", "b", "c"]), _values, max_size=3))
def test_missing_label_is_empty(labels: dict[str, str]) -> None:
    for name in ("a", "b", "c"):
        value = labels.get(name, "")
        assert silence_matches([Matcher(name, value)], labels)
        assert not silence_matches([Matcher(name, value, is_equal=False)], labels)


def _rule(pk: int, alertname: str, matchers: dict[str, str], **extra: object) -> AlertRule:
    return AlertRule(pk=pk, alertname=alertname, matchers=matchers, **extra)


def test_rule_matchers_select_exactly_the_rule() -> None:
    rule = _rule(1, "ModelLatencyHigh", {"model": "fraud-scorer"})
    assert rule_matchers(rule) == [
        Matcher("alertname", "ModelLatencyHigh"),
        Matcher("model", "fraud-scorer"),
    ]
    assert silence_matches(rule_matchers(rule), LABELS)
    assert not silence_matches(rule_matchers(rule), {**LABELS, "model": "recommender"})


def test_catch_all_rule_leaves_out_its_more_specific_siblings() -> None:
    catch_all = _rule(1, "ModelLatencyHigh", {})
    fraud = _rule(2, "ModelLatencyHigh", {"model": "fraud-scorer"})
    recsys = _rule(3, "ModelLatencyHigh", {"model": "recommender.v7"})
    other_name = _rule(4, "Other", {"model": "x"})
    matchers = rule_matchers(catch_all, [catch_all, fraud, recsys, other_name])
    assert matchers == [
        Matcher("alertname", "ModelLatencyHigh"),
        Matcher("model", "fraud\\-scorer|recommender\\.v7", is_regex=True, is_equal=False),
    ]
    assert silence_matches(matchers, {"alertname": "ModelLatencyHigh", "model": "search"})
    assert silence_matches(matchers, {"alertname": "ModelLatencyHigh"})
    assert not silence_matches(matchers, LABELS)
    assert not silence_matches(
        matchers, {"alertname": "ModelLatencyHigh", "model": "recommender.v7"}
    )
    # The escaped dot is literal.
    assert silence_matches(matchers, {"alertname": "ModelLatencyHigh", "model": "recommenderXv7"})
    single = rule_matchers(catch_all, [fraud])
    assert single[-1] == Matcher("model", "fraud-scorer", is_equal=False)


def test_coverage_full_partial_none() -> None:
    rule = _rule(1, "ModelLatencyHigh", {"model": "fraud-scorer"}, labels={"severity": "page"})
    assert rule_coverage([Matcher("alertname", "ModelLatencyHigh")], rule) == Coverage.FULL
    assert rule_coverage([Matcher("severity", "page")], rule) == Coverage.FULL
    assert rule_coverage([Matcher("alertname", "Model.*", is_regex=True)], rule) == Coverage.FULL
    assert (
        rule_coverage([Matcher("alertname", "ModelLatencyHigh"), Matcher("instance", "h1")], rule)
        == Coverage.PARTIAL
    )
    assert rule_coverage([Matcher("alertname", "Other")], rule) is None
    assert rule_coverage([Matcher("model", "fraud-scorer", is_equal=False)], rule) is None
    # Only labels the rule does not fix: it depends on every alert, so no coverage is claimed.
    assert rule_coverage([Matcher("instance", "h1")], rule) is None
