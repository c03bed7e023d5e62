"""Comments, docstrings and docs name only files that exist (issue 13: 14 comments pointed
to a design document that was never in the repository).

A cheap scan of the tracked text files: a file path that starts at a top-level directory of
the repository (`alerts/noise/flags.py`, `deploy/prometheus/rules.yml`) or a Markdown file
named in capitals (`NOTES` + `.md`) must exist. URL paths (`/api/v1/...`), rates (`alerts/s`) and
template or static names (`alerts/rule_list.html`, resolved by Django's loaders) do not match:
they do not start a word with a top-level directory, or have no source-file extension.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("*.py", "*.md", "*.yml", "*.yaml", "*.toml", "*.html", "Makefile", "Dockerfile")
# A path may follow only a space, quote, bracket or backtick: "/alerts/..." is a URL path.
_PATH = r"(?<![\w./-])((?:{dirs})/[\w./*-]*\.(?:{exts}))(?![\w-])"
_EXTENSIONS = ("py", "md", "yml", "yaml", "toml", "sh", "json", "cfg", "conf", "txt")
_DOC = re.compile(r"(?<![\w./-])([A-Z][A-Z_]+\.md)\b")


def _tracked() -> list[str]:
    out = subprocess.run(  # noqa: S603
        ["git", "ls-files", "--", *SCANNED],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in out.splitlines() if (ROOT / name).is_file()]


def _top_directories() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("."))


def dangling_references() -> list[str]:
    dirs = "|".join(map(re.escape, _top_directories()))
    pattern = re.compile(_PATH.format(dirs=dirs, exts="|".join(_EXTENSIONS)))
    dangling = []
    for name in _tracked():
        text = (ROOT / name).read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for found in pattern.findall(line) + _DOC.findall(line):
                if not next(ROOT.glob(found), None):  # a glob (`rules/*.yml`) must match
                    dangling.append(f"{name}:{number}: {found}")
    return dangling


def test_every_file_path_named_in_code_and_docs_exists() -> None:
    assert dangling_references() == []
