"""Every glyph the app draws comes out in the PNG frames as itself, never as the font's empty box.

The glyph set is what the app really shows: every step of every scenario, played in the app.
A second, fast check reads every non-ASCII character in the app's source and scenario files, so
a symbol only some live state shows is covered too.
"""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest
from ui_helpers import make_app

from atm_tui.scenarios.loader import load_all
from atm_tui.ui.capture.frames import FRAME_SIZE, screen_of
from atm_tui.ui.capture.png import drawable

ROOT = Path(__file__).resolve().parents[2] / "atm_tui"


def test_drawable_knows_an_empty_box_when_it_sees_one() -> None:
    assert drawable("⋯") and drawable("⧗") and drawable("T") and drawable("─") and drawable(" ")
    assert not drawable("☃")  # a snowman: in no font of ours, so it would come out as a box


def docstrings() -> set[str]:
    """Characters that appear only in docstrings and comments are not drawn; skip those."""
    out: set[str] = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    out.add(doc)
    return out


def test_every_symbol_in_the_apps_strings_is_drawable() -> None:
    docs = docstrings()
    strings: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in docs:
                strings.add(node.value)
    for path in ROOT.rglob("*.toml"):
        strings.add(path.read_text(encoding="utf-8"))
    # Cn: a noncharacter (png.py probes the font's empty box with U+FFFF); it is never drawn.
    chars = {c for s in strings for c in s if ord(c) > 127 and unicodedata.category(c) != "Cn"}
    assert len(chars) > 20
    assert sorted(c for c in chars if not drawable(c)) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", [sc.name for sc in load_all()])
async def test_every_glyph_of_every_scenarios_frames_is_drawable(name: str, tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario=name, scenario_dir=str(tmp_path), no_animation=True)
    seen: set[str] = set()
    async with app.run_test(size=FRAME_SIZE) as pilot:
        for _ in range(len(next(sc for sc in load_all() if sc.name == name).steps) + 1):
            await app.workers.wait_for_complete()
            await app.settle(0)
            await pilot.pause()
            seen |= set(screen_of(app).text())
            await pilot.press("right")
    assert "─" in seen and any(c.isalpha() for c in seen)
    assert sorted(c for c in seen if not drawable(c)) == []
