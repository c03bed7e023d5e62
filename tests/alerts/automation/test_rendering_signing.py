"""The sandboxed JSON body and the HMAC signature (no database)."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest

from alerts.automation import rendering, signing


def test_values_are_json_encoded_so_a_label_cannot_inject_keys() -> None:
    hostile = 'x", "admin": true, "y": "'
    body = rendering.body_render(
        '{"model": {{ labels.model }}, "n": {{ n }}, "m": {{ labels | tojson }}}',
        {"labels": {"model": hostile}, "n": 3},
    )
    parsed = json.loads(body)
    assert parsed["model"] == hostile
    assert "admin" not in parsed
    assert parsed["n"] == 3
    assert parsed["m"] == {"model": hostile}


def test_a_template_is_compiled_once_however_often_it_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each run renders its action's template (and the save-time check compiles it): compiling
    is milliseconds of a run's worker time, so it happens once per template and process."""
    template = '{"model": {{ labels.model }}, "to": "%s"}' % uuid.uuid4().hex  # noqa: UP031
    compile_ = mock.Mock(wraps=rendering._ENVIRONMENT.compile)
    monkeypatch.setattr(rendering._ENVIRONMENT, "compile", compile_)
    rendering.template_check(template)
    bodies = [rendering.body_render(template, {"labels": {"model": m}}) for m in "abc"]
    assert [json.loads(body)["model"] for body in bodies] == ["a", "b", "c"]
    assert compile_.call_count == 1


def test_an_unknown_name_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(rendering.RenderError, match="has no attribute"):
        rendering.body_render('{"a": {{ labels.nope }}}', {"labels": {}})


def test_the_output_must_be_json() -> None:
    with pytest.raises(rendering.RenderError, match="not JSON"):
        rendering.body_render("model={{ labels.model }}", {"labels": {"model": "m"}})


def test_the_sandbox_refuses_internals() -> None:
    with pytest.raises(rendering.RenderError):
        rendering.body_render(
            '{"a": {{ labels.__class__.__mro__[1].__subclasses__() }}}', {"labels": {}}
        )


def test_the_body_size_is_bounded() -> None:
    with pytest.raises(rendering.RenderError, match="larger than"):
        rendering.body_render('{"a": {{ big }}}', {"big": "x" * rendering.MAX_BODY_BYTES})


def test_an_empty_template_sends_an_empty_object() -> None:
    assert rendering.body_render("  ", {}) == b"{}"


def test_a_template_that_does_not_compile_is_refused_at_save_time() -> None:
    with pytest.raises(rendering.RenderError, match="does not compile"):
        rendering.template_check('{"a": {{ labels.model }')


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    body = b'{"model": "fraud-scorer"}'
    headers = signing.signed_headers("k3y", body, now=1_800_000_000)
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    ok = {"timestamp": timestamp, "signature_header": signature, "now": 1_800_000_010}
    assert signing.signature_verify("k3y", body=body, **ok)  # type: ignore[arg-type]
    assert not signing.signature_verify("other", body=body, **ok)  # type: ignore[arg-type]
    assert not signing.signature_verify("k3y", body=body + b" ", **ok)  # type: ignore[arg-type]
    # The timestamp is signed too, and an old one is a replay.
    assert not signing.signature_verify(
        "k3y", body=body, timestamp="1800000001", signature_header=signature, now=1_800_000_010
    )
    assert not signing.signature_verify(
        "k3y", body=body, timestamp=timestamp, signature_header=signature, now=1_800_001_000
    )
    assert not signing.signature_verify(
        "k3y", body=body, timestamp=None, signature_header=signature
    )
