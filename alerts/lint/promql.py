"""PromQL shape checks: cheap, parser-free mistakes a linter can point at with a line.

Not a PromQL parser: it finds unbalanced brackets and quotes, empty expressions, a trailing
operator, malformed range durations and calls of unknown functions. Prometheus itself remains
the judge of full validity.
"""

from __future__ import annotations

import re

FUNCTIONS = frozenset(
    """abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
    clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
    days_in_month deg delta deriv double_exponential_smoothing exp floor histogram_avg
    histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
    histogram_sum holt_winters hour idelta increase info irate label_join label_replace
    last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh
    sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time
    sum_over_time tan tanh time timestamp vector year""".split()
)
AGGREGATIONS = frozenset(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk "
    "limit_ratio".split()
)
# Words that may be followed by "(" without being a call.
KEYWORDS = frozenset(
    "by without on ignoring group_left group_right and or unless bool offset atan2".split()
)
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"^\s*{_DURATION}\s*(?::\s*(?:{_DURATION})?\s*)?$")
_CALL = re.compile(r"(?<![\w:.])([A-Za-z_][A-Za-z0-9_:]*)\s*\(")
_TRAILING = re.compile(r"(?:[-+*/%^]|==|!=|>=|<=|>|<|=~|!~|\b(?:and|or|unless))\s*$")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _blank_strings(expr: str) -> tuple[str, list[tuple[int, str]]]:
    """The expression with string literal contents replaced by spaces (offsets kept)."""
    out = list(expr)
    problems: list[tuple[int, str]] = []
    i = 0
    while i < len(expr):
        quote = expr[i]
        if quote not in "\"'`":
            i += 1
            continue
        start = i
        i += 1
        while i < len(expr) and expr[i] != quote:
            if expr[i] == "\\" and quote != "`":
                out[i] = " "
                i += 1
            if i < len(expr):
                out[i] = " "
            i += 1
        if i >= len(expr):
            problems.append((start, f"Unterminated string starting with {quote}."))
            return "".join(out), problems
        i += 1
    return "".join(out), problems


def _bracket_problems(text: str) -> list[tuple[int, str]]:
    stack: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        if char in "([{":
            stack.append((char, i))
        elif char in ")]}":
            if not stack or stack[-1][0] != _PAIRS[char]:
                return [(i, f"Unbalanced '{char}': no matching opening bracket.")]
            stack.pop()
    if stack:
        char, offset = stack[-1]
        return [(offset, f"Unbalanced '{char}': it is never closed.")]
    return []


def _range_problems(text: str) -> list[tuple[int, str]]:
    problems = []
    for match in re.finditer(r"\[([^\[\]]*)\]", text):
        if not _RANGE.match(match.group(1)):
            problems.append(
                (
                    match.start(),
                    f"Range [{match.group(1)}] is not a duration like [5m], [1h30m] or a "
                    "subquery like [1h:5m].",
                )
            )
    return problems


def _call_problems(text: str) -> list[tuple[int, str]]:
    problems = []
    for match in _CALL.finditer(text):
        name = match.group(1)
        if name in FUNCTIONS or name in AGGREGATIONS or name in KEYWORDS:
            continue
        problems.append((match.start(), f"Unknown function {name}(): check the spelling."))
    return problems


def promql_problems(expr: str) -> list[tuple[int, str]]:
    """(offset in expr, message) for each shape problem, first problems first."""
    if not expr.strip():
        return [(0, "The expression is empty.")]
    text, problems = _blank_strings(expr)
    if problems:
        return problems
    problems = _bracket_problems(text)
    if problems:
        return problems
    problems = _range_problems(text) + _call_problems(text)
    trailing = _TRAILING.search(text.rstrip())
    if trailing:
        problems.append(
            (trailing.start(), f"The expression ends with the operator {trailing.group(0)!r}.")
        )
    return sorted(problems)
