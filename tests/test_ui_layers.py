"""The layer rule: bank/ and sim/ never import Textual; only ui/ does (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "atm_tui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ["bank", "sim"])
def test_engine_layers_do_not_import_textual(layer: str) -> None:
    files = sorted((PACKAGE / layer).glob("*.py"))
    assert files
    offenders = [f.name for f in files if {"textual", "rich"} & _imports(f)]
    assert offenders == []


def test_ui_view_model_is_textual_free() -> None:
    # The panes' model is plain Python, so it can be reasoned about (and tested) alone.
    assert "textual" not in _imports(PACKAGE / "ui" / "view.py")
