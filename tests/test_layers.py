"""Layers: bank/, sim/ and scenarios/ never import Textual (DESIGN.md), checked two ways."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import ROOT

PACKAGE = ROOT / "atm_tui"
FORBIDDEN = ("textual",)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (inside functions and `if TYPE_CHECKING` too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # Relative imports keep their dots: `from ..ui import x` still names the ui package.
            found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module",
            "__import__",
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def offenders(folder: Path) -> list[str]:
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for line, module in imported_modules(path):
            parts = [p for p in module.split(".") if p]
            relative_ui = module.startswith(".") and "ui" in parts
            if module.split(".")[0] in FORBIDDEN or module.startswith("atm_tui.ui") or relative_ui:
                bad.append(f"{path.relative_to(folder)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("layer", ["bank", "sim", "scenarios"])
def test_no_textual_import_in_the_source(layer: str) -> None:
    files = list((PACKAGE / layer).rglob("*.py"))
    assert len(files) >= 4, "the scan must see the layer's files"
    assert offenders(PACKAGE / layer) == []


def test_the_panes_model_is_textual_free() -> None:
    # ui/view.py is plain Python, so the panes' logic can be read and tested alone.
    view = PACKAGE / "ui" / "view.py"
    assert [m for _, m in imported_modules(view) if m.split(".")[0] in FORBIDDEN] == []


def test_the_scan_catches_a_textual_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f() -> None:\n    from textual.app import App\n")
    (tmp_path / "b.py").write_text("import importlib\nimportlib.import_module('textual')\n")
    (tmp_path / "c.py").write_text("import json\nfrom atm_tui.bank import core\nfrom . import world\n")
    (tmp_path / "d.py").write_text("from ..ui.app import run\n")
    found = [o.split(" imports ")[1] for o in offenders(tmp_path)]
    assert found == ["textual.app", "textual", "..ui.app"]


def test_running_the_engine_never_loads_textual(tmp_path: Path) -> None:
    code = f"""
import asyncio, sys
import atm_tui.sim.run, atm_tui.sim.engine, atm_tui.bank, atm_tui.cli
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.config import SimConfig
from atm_tui.sim.run import RunOptions, simulate
from atm_tui.cli import main
asyncio.run(simulate(SimConfig(), StoreConfig({str(tmp_path / "a.db")!r}), RunOptions(withdrawals=3)))
main(["simulate", "--db", {str(tmp_path / "b.db")!r}, "--withdrawals", "2", "--bridge", "aiosqlite"])
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not loaded, loaded
print("clean")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("clean")


# Engine time is virtual and its randomness is the one seeded RNG; the headless runners
# (run.py, pipeline_run.py) may time the run for the report (elapsed seconds), which never
# feeds a decision.
ALLOWED_CALLS = {("random", "Random"), ("time", "perf_counter")}
RUNNERS = {"run.py", "pipeline_run.py"}
CLOCK_MODULES = {"random", "time", "datetime", "secrets", "uuid"}


def clock_and_random_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in CLOCK_MODULES:
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in CLOCK_MODULES:
            for alias in node.names:
                if (node.module, alias.name) not in ALLOWED_CALLS:
                    return [f"{path.name}:{node.lineno} from {node.module} import {alias.name}"]
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names:
            use = (names[node.value.id], node.attr)
            if use not in ALLOWED_CALLS or (use == ("time", "perf_counter") and path.name not in RUNNERS):
                bad.append(f"{path.name}:{node.lineno} {use[0]}.{use[1]}")
    return bad


@pytest.mark.parametrize("layer", ["bank", "sim"])
def test_no_wall_clock_or_global_random_in_the_engine(layer: str) -> None:
    assert [u for p in sorted((PACKAGE / layer).rglob("*.py")) for u in clock_and_random_uses(p)] == []


def test_the_clock_scan_catches_offenders(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("import random, time\nrandom.random()\ntime.time()\nrandom.Random(1)\n")
    (tmp_path / "y.py").write_text("from datetime import datetime\n")
    assert clock_and_random_uses(tmp_path / "x.py") == ["x.py:2 random.random", "x.py:3 time.time"]
    assert clock_and_random_uses(tmp_path / "y.py") == ["y.py:1 from datetime import datetime"]
