"""The scenarios package, like bank/ and sim/, never imports Textual: the app plugs into it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import atm_tui

ROOT = Path(atm_tui.__file__).parent


@pytest.mark.parametrize("package", ["bank", "sim", "scenarios"])
def test_no_textual_import(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("textual", "atm_tui.ui")
                          or n.startswith("atm_tui.ui")]  # fmt: skip
    assert offenders == []


def test_scenario_files_ship_inside_the_package() -> None:
    from importlib import resources

    files = {p.name for p in resources.files("atm_tui.scenarios").iterdir()}
    assert {"t123.toml", "crash-gap.toml"} <= files
