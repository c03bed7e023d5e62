"""The JSON body of an action request, rendered from the episode in a Jinja2 sandbox.

Every `{{ expression }}` is written as a JSON value (a string is quoted and escaped, a number or
a mapping is encoded), so a label value cannot break out of its string and inject keys:

    {"model": {{ labels.model }}, "reason": {{ annotations.summary }}, "episode": {{ episode.id }}}

`| tojson` is accepted and means the same. An unknown name is an error (StrictUndefined), the
sandbox refuses attribute access to internals, and the result must parse as JSON and stay under
MAX_BODY_BYTES. The context holds no secret.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_BODY_BYTES = 16 * 1024
MAX_TEMPLATE_CHARS = 8 * 1024


class RenderError(Exception):
    """The template cannot produce a JSON body; the message says why."""


class _Encoded(str):
    """A value already encoded as JSON (by `tojson`), written as it is."""


def _tojson(value: Any) -> _Encoded:
    return _Encoded(json.dumps(value, sort_keys=True, default=str))


def _finalize(value: Any) -> Any:
    if isinstance(value, _Encoded):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _environment() -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        autoescape=False, undefined=StrictUndefined, finalize=_finalize, keep_trailing_newline=False
    )
    environment.filters["tojson"] = _tojson
    return environment


_ENVIRONMENT = _environment()


@functools.lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    """Compiling costs milliseconds, rendering microseconds: each template once per process
    (an action's template changes rarely; a changed one is a new key)."""
    return _ENVIRONMENT.from_string(template)


def template_check(template: str) -> None:
    """Save-time check: the template compiles. Raises RenderError."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise RenderError(f"The body template is longer than {MAX_TEMPLATE_CHARS} characters.")
    try:
        _compiled(template)
    except TemplateError as error:
        raise RenderError(f"The body template does not compile: {error}") from None


def body_render(template: str, context: dict[str, Any]) -> bytes:
    """The request body (UTF-8 JSON), or RenderError. An empty template sends `{}`."""
    if not template.strip():
        return b"{}"
    template_check(template)
    try:
        text = _compiled(template).render(**context)
    except TemplateError as error:
        raise RenderError(f"The body template failed: {error}") from None
    body = text.encode()
    if len(body) > MAX_BODY_BYTES:
        raise RenderError(f"The rendered body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        json.loads(text)
    except ValueError as error:
        raise RenderError(f"The rendered body is not JSON: {error}") from None
    return body
