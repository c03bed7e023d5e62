"""The import-direction contract (pyproject.toml [tool.importlinter]) holds, and it bites.

`lint-imports` runs on the real tree; then on a copy of the tree with one upward import added,
where it must fail and name the offending import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert isinstance(config, dict)
    return config


def _run(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def _copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    for package in _contract()["root_packages"]:  # type: ignore[attr-defined]
        shutil.copytree(
            ROOT / package,
            tree / package,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.html"),
        )
    return tree


def test_the_tree_keeps_the_layers() -> None:
    result = _run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_app_is_in_a_layer() -> None:
    layers = " ".join(_contract()["contracts"][0]["layers"])  # type: ignore[index]
    for package in _contract()["root_packages"]:  # type: ignore[attr-defined]
        assert package in layers


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("core", "fleet"),
        ("fleet", "alerts"),
        ("tokens", "api"),
        ("api", "runbooks"),
        ("runbooks", "alerts"),
        ("alerts", "fleet_coverage"),
        ("fleet_coverage", "demo"),
        ("demo", "ops"),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path: Path, lower: str, higher: str) -> None:
    tree = _copy_tree(tmp_path)
    (tree / lower / "upward_import.py").write_text(f"import {higher}  # noqa: F401\n")
    result = _run(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{lower} is not allowed to import {higher}" in result.stdout
    assert f"{lower}.upward_import -> {higher}" in result.stdout
