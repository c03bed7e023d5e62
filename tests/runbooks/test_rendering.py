"""Runbook rendering: Markdown features survive, hostile input does not."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest

from runbooks.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_runbook_html

_SAFE_SCHEMES = ("http:", "https:", "mailto:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def elements(markup: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = _Collector()
    collector.feed(markup)
    return collector.elements


def assert_safe(markup: str) -> None:
    """Only allow-listed tags and attributes; every URL http(s), mailto, relative or a fragment."""
    for tag, attrs in elements(markup):
        assert tag in ALLOWED_TAGS, tag
        allowed = ALLOWED_ATTRIBUTES.get("*", set()) | ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            assert name in allowed | {"rel"}, (tag, name)
            assert not name.startswith("on")
            if name in {"href", "src"}:
                url = "".join(html.unescape(value or "").split()).lower()
                assert ":" not in url.split("/")[0] or url.startswith(_SAFE_SCHEMES), url


# (hostile Markdown, a substring the sanitized output must contain, substrings it must not)
HOSTILE = [
    ("<script>alert(1)</script>", "", ["<script", "alert(1)"]),
    ("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>", "", ["<script", "evil.example"]),
    ("<img src=x onerror=alert(1)>", '<img src="x">', ["onerror", "alert"]),
    ('<svg onload="alert(1)"><circle r="5"/></svg>', "", ["<svg", "onload", "<circle"]),
    ('<iframe src="https://evil.example"></iframe>', "", ["<iframe", "evil.example"]),
    ("<details open ontoggle=alert(1)>x</details>", '<details open="">x</details>', ["ontoggle"]),
    ("[click](javascript:alert(1))", "click</a>", ["javascript", "href"]),
    ("[click](JaVaScRiPt:alert(1))", "click</a>", ["javascript", "href"]),
    ("[click](&#106;avascript:alert(1))", "click</a>", ["avascript", "href"]),
    ("[click](&#x6A;avascript&#x3A;alert(1))", "click</a>", ["avascript", "href"]),
    ("[click](java&#09;script:alert(1))", "click</a>", ["script:", "href"]),
    ('<a href="  javascript:alert(1)">x</a>', ">x</a>", ["javascript", "href"]),
    ('<a href="&#0000106&#0000097vascript:alert(1)">x</a>', ">x</a>", ["vascript", "href"]),
    ("![pic](javascript:alert(1))", '<img alt="pic">', ["javascript", "src"]),
    ("![pic](JAVASCRIPT:alert(1))", '<img alt="pic">', ["javascript", "src"]),
    ("![pic](&#106;avascript:alert(1))", '<img alt="pic">', ["avascript", "src"]),
    ("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "x</a>", ["data:"]),
    ('<img src="data:image/svg+xml,<svg onload=alert(1)>">', "<img>", ["data:", "onload"]),
    ("[x][evil]\n\n[evil]: javascript:alert(1)", "x</a>", ["javascript", "href"]),
    ('[x][evil]\n\n[evil]: JaVaScRiPt:alert(1) "title"', "x</a>", ["javascript"]),
    ("![x][img]\n\n[img]: data:text/html,<script>alert(1)</script>", "<img", ["data:", "<script"]),
    ('<p style="background:url(javascript:alert(1))">s</p>', "<p>s</p>", ["style", "javascript"]),
    ('<span style="position:fixed;top:0">overlay</span>', "<span>overlay</span>", ["style"]),
    ("<style>body{display:none}</style>text", "text", ["<style", "display:none"]),
    ("<!--><script>alert(1)</script>-->", "", ["<script", "<!--"]),
    ("<!-- <img src=x onerror=alert(1)> -->ok", "ok", ["onerror", "<!--"]),
    ("<javascript:alert(1)>", "", ["javascript"]),
    ("<https://example.com/path>", 'href="https://example.com/path"', ["javascript"]),
    ('<form action="https://evil.example"><input name=x></form>', "", ["<form", "<input"]),
    ('<object data="https://evil.example/x.swf"></object>', "", ["<object", "evil"]),
    ('<embed src="https://evil.example/x.swf">', "", ["<embed"]),
    ('<math><mi xlink:href="javascript:alert(1)">m</mi></math>', "", ["<math", "javascript"]),
    ('<a href="https://example.com" target="_blank">ext</a>', "ext</a>", ["target"]),
    ('<base href="https://evil.example/">', "", ["<base", "evil"]),
    ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', "", ["<meta"]),
    (
        '<div id="csrfmiddlewaretoken" name="x">clobber</div>',
        "<div>clobber</div>",
        ["id=", "name="],
    ),
    ('<a href="vbscript:msgbox(1)">vb</a>', "vb</a>", ["vbscript", "href"]),
    # Markdown turns the backticks into <code>; the scheme survives only as inert text.
    ("<img src=`javascript:alert(1)`>", "<img", ['="javascript', "<code"]),
    ('<table><tr><td background="javascript:alert(1)">c</td></tr></table>', "c</td>", ["back"]),
    ("```\n<script>alert(1)</script>\n```", "&lt;script&gt;", ["<script"]),
]


@pytest.mark.parametrize(("source", "expected", "forbidden"), HOSTILE)
def test_hostile_markdown_is_neutralised(source: str, expected: str, forbidden: list[str]) -> None:
    rendered = render_runbook_html(source)

    assert expected in rendered
    for needle in forbidden:
        assert needle.lower() not in rendered.lower()
    assert_safe(rendered)


def test_hostile_suite_is_large_enough() -> None:
    assert len(HOSTILE) >= 25


def test_external_links_get_noopener_noreferrer() -> None:
    rendered = render_runbook_html("[grafana](https://grafana.example.com/d/x)")

    assert (
        '<a href="https://grafana.example.com/d/x" rel="noopener noreferrer">grafana</a>'
        in rendered
    )


def test_tables_keep_alignment_without_style() -> None:
    rendered = render_runbook_html("| a | b |\n|:--|--:|\n| 1 | 2 |")

    assert '<th align="left">a</th>' in rendered
    assert '<td align="right">2</td>' in rendered
    assert "style" not in rendered


def test_fenced_code_toc_and_admonitions_render() -> None:
    body = (
        "[TOC]\n\n## Mitigation steps\n\n!!! warning\n    Drain first.\n\n"
        "```bash\nkubectl get pods\n```"
    )

    rendered = render_runbook_html(body)

    assert '<a href="#mitigation-steps" rel="noopener noreferrer">Mitigation steps</a>' in rendered
    assert '<h2 id="mitigation-steps">Mitigation steps</h2>' in rendered
    assert '<div class="admonition warning">' in rendered
    assert '<code class="language-bash">kubectl get pods' in rendered


def test_empty_body_renders_empty() -> None:
    assert render_runbook_html("") == ""
