"""Layers (docs/architecture.md): bank/, sim/ and scenarios/ never import Textual, no circle, no private
import, small modules, a virtual clock in the engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import ROOT
from import_scan import imported_modules

PACKAGE = ROOT / "atm_tui"
FORBIDDEN = ("textual",)


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
    # ui/models/view.py is plain Python, so the panes' logic can be read and tested alone.
    view = PACKAGE / "ui" / "models" / "view.py"
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
import atm_tui.sim.run, atm_tui.sim.atm.engine, atm_tui.bank, atm_tui.cli.main
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.run import RunOptions, simulate
from atm_tui.cli.main import main
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


# -- the package's shape: no import circle, no private import, small modules ---------------------
def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, level: int, here: str, is_package: bool) -> str:
    if level == 0:
        return module
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path, modules: set[str], root: Path = ROOT, lazy: bool = False) -> set[str]:
    """The package's modules (of `modules`) that a file imports when it is loaded.

    Only module-level imports count. An import inside a function is a lazy load: it runs on
    first use, after every module-level import has finished, so it cannot close a circle at
    import time (the private-name rule below still reads it). Imports under `if TYPE_CHECKING:`
    never run. `from pkg import sub` is an edge to the module `sub`; a module's own parent
    packages are left out, as Python has begun loading them before the module. `lazy` counts
    imports inside functions too (the engine's stricter rule: not even a lazy circle).
    """
    here = module_name(path, root)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node.module or "", node.level, here, is_package)
                subs = {f"{target}.{a.name}" for a in node.names} & modules
                found.update(subs)
                if len(subs) < len(node.names):
                    found.add(target)
            elif isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
            elif lazy and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)).body)
    parents = {".".join(here.split(".")[:i]) for i in range(1, here.count(".") + 1)}
    return (found & modules) - parents - {here}


def import_graph(package: Path, root: Path = ROOT, lazy: bool = False) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in sorted(package.rglob("*.py"))}
    return {name: runtime_imports(path, set(files), root, lazy) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


# Empty, and kept so: a circle is split, never listed here.
KNOWN_CIRCLES: list[list[str]] = []


def test_no_import_circle_inside_the_package() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 40, "the scan must see the package's modules"
    assert [c for c in circles(graph) if c not in KNOWN_CIRCLES] == []


@pytest.mark.parametrize("layer", ["bank", "sim"])
def test_the_engine_has_no_circle_even_through_lazy_imports(layer: str) -> None:
    graph = import_graph(PACKAGE / layer, lazy=True)
    assert len(graph) > 5, "the scan must see the layer's modules"
    assert circles(graph) == []


def test_the_lazy_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "atm_tui"
    pkg.mkdir()
    (pkg / "a.py").write_text("import atm_tui.b\n")
    (pkg / "b.py").write_text("def f() -> None:\n    from atm_tui import a\n")
    assert circles(import_graph(pkg, tmp_path)) == []
    assert circles(import_graph(pkg, tmp_path, lazy=True)) == [["atm_tui.a", "atm_tui.b"]]


def test_the_circle_scan_catches_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "atm_tui"
    (pkg / "ui").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ui" / "__init__.py").write_text("from atm_tui.ui import a\n")  # a parent is no circle
    (pkg / "ui" / "a.py").write_text("from atm_tui.ui import b\n")
    (pkg / "ui" / "b.py").write_text("from . import c\n")
    (pkg / "ui" / "c.py").write_text("from atm_tui.ui.a import x\n")
    (pkg / "ui" / "d.py").write_text("def f() -> None:\n    from atm_tui.ui import a\nimport atm_tui.ui.e\n")
    (pkg / "ui" / "e.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from . import d\n")
    graph = import_graph(pkg, tmp_path)
    assert graph["atm_tui.ui.d"] == {"atm_tui.ui.e"} and graph["atm_tui.ui.e"] == set()
    assert circles(graph) == [["atm_tui.ui.a", "atm_tui.ui.b", "atm_tui.ui.c"]]


def private_imports(package: Path, root: Path = ROOT) -> list[str]:
    """`from atm_tui.x import _name` (at any depth, lazy ones too) where atm_tui.x is another module."""
    bad = []
    for path in sorted(package.rglob("*.py")):
        here = module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(node.module or "", node.level, here, path.name == "__init__.py")
                if not target.startswith("atm_tui") or target == here:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{path.relative_to(root).as_posix()} imports {target}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if any(p.startswith("_") and not p.startswith("__") for p in alias.name.split(".")):
                        bad.append(f"{path.relative_to(root).as_posix()} imports {alias.name}")
    return bad


def test_the_private_scan_catches_one(tmp_path: Path) -> None:
    pkg = tmp_path / "atm_tui"
    pkg.mkdir()
    (pkg / "x.py").write_text("def f() -> None:\n    from atm_tui.ui.app import _data_dir\n")
    (pkg / "y.py").write_text("from atm_tui.bank.store import StoreError, __all__\nfrom .y import _own\n")
    assert private_imports(pkg, tmp_path) == ["atm_tui/x.py imports atm_tui.ui.app._data_dir"]


KNOWN_PRIVATE_IMPORTS: set[str] = set()  # none: keep it so


def test_no_module_imports_another_modules_private_name() -> None:
    assert [b for b in private_imports(PACKAGE) if b not in KNOWN_PRIVATE_IMPORTS] == []


MAX_LINES = 450
# Empty, and kept so: a module over the limit is split by responsibility. (A name listed here that
# has shrunk fails the test, so the list cannot go stale.)
OVER_THE_LIMIT: set[str] = set()


def test_no_module_is_over_the_limit() -> None:
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted(PACKAGE.rglob("*.py"))
    }
    over = {name for name, n in sizes.items() if n > MAX_LINES}
    assert over - OVER_THE_LIMIT == set(), {n: sizes[n] for n in over - OVER_THE_LIMIT}
    assert OVER_THE_LIMIT - over == set(), "shrunk below the limit: take it off the list"


# The UI's Textual-free core: the Session and what it drives, readable and testable alone.
TEXTUAL_FREE = (
    "core.session", "core.session_events", "core.pipeline_mode", "core.scenario_mode", "core.presenter",
    "core.pacer", "core.bank_reader", "core.settings", "core.served", "core.shown", "launch", "models.view",
    "models.rows", "models.beliefs", "models.storm", "models.captions", "models.on_wire", "models.on_bank",
    "models.on_atm", "models.outcomes", "models.colours", "models.pipeline_model",
)  # fmt: skip


@pytest.mark.parametrize("name", TEXTUAL_FREE)
def test_the_sessions_modules_import_no_textual(name: str) -> None:
    path = PACKAGE / "ui" / f"{name.replace('.', '/')}.py"
    assert [m for _, m in imported_modules(path) if m.split(".")[0] in FORBIDDEN] == []


def test_loading_the_session_loads_no_textual() -> None:
    # Transitively too: nothing the Session imports at load time pulls Textual in.
    names = ", ".join(f"atm_tui.ui.{n}" for n in TEXTUAL_FREE)
    code = f"""
import sys
import {names}
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not loaded, loaded
print("clean")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("clean")


def test_only_the_launch_code_frames_and_screenshot_import_the_app() -> None:
    importers = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(m == "atm_tui.ui.app" or m.endswith("ui.app") for _, m in imported_modules(path)):
            importers.add(str(path.relative_to(PACKAGE)))
    assert importers == {"ui/launch.py", "ui/capture/frames.py", "ui/capture/screenshot.py"}
