"""The README documents every environment variable the settings read, and its two commands."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_of_the_settings_is_documented() -> None:
    settings = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z_0-9]+)"', settings))
    readme = (ROOT / "README.md").read_text()
    assert names, "no environment variables found: the pattern is out of date"
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == []


def test_quick_start_is_the_two_make_targets() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make (\w+)", quick_start, flags=re.MULTILINE)
    assert commands == ["demo", "test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.MULTILINE)
    assert re.search(r"^test:", makefile, flags=re.MULTILINE)
