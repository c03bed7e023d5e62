"""Keep schemathesis 3 working with the installed Hypothesis.

hypothesis-jsonschema 0.23 (used by schemathesis 3 to generate JSON objects) calls
`hypothesis.internal.conjecture.utils.many(...).more()`, an internal API that newer Hypothesis
releases replaced by a context manager. This gives hypothesis-jsonschema the old-style helper,
built on the public-enough `draw_boolean`, without touching Hypothesis itself.
"""

from __future__ import annotations

import types
from typing import Any

import hypothesis.internal.conjecture.utils as cu
import hypothesis_jsonschema._from_schema as from_schema


class LegacyMany:
    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self.data = data
        self.min_size = min_size
        self.max_size = max_size
        self.p_continue = cu._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self.rejections = 0
        self.force_stop = False

    def more(self) -> bool:
        if self.min_size == self.max_size:
            go_on = self.count < self.min_size
        else:
            forced: bool | None = None
            if self.force_stop or self.count >= self.max_size:
                forced = False
            elif self.count < self.min_size:
                forced = True
            # When forced, p only has to be consistent with the forced value.
            p = self.p_continue if forced is None else 0.5
            go_on = self.data.draw_boolean(p, forced=forced)
        if go_on:
            self.count += 1
        return go_on

    def reject(self, why: str | None = None) -> None:
        self.count -= 1
        self.rejections += 1
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid(why)
            else:
                self.force_stop = True


def install() -> None:
    if hasattr(cu.many, "more"):
        return  # an older Hypothesis: nothing to do
    names = {name: getattr(cu, name) for name in dir(cu) if not name.startswith("__")}
    names["many"] = LegacyMany
    from_schema.cu = types.SimpleNamespace(**names)  # type: ignore[attr-defined]
