"""Guards for the engine's layers (bank/, sim/): no import circle, no private name imported, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "atm_tui"
LAYERS = ("bank", "sim")
MAX_LINES = 450


def modules() -> dict[str, Path]:
    return {f"atm_tui.{layer}.{p.stem}": p for layer in LAYERS for p in sorted((ROOT / layer).glob("*.py"))}


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from atm_tui... import ...` and `import atm_tui...`, lazy ones too."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("atm_tui"):
            names = [a.name for a in node.names]
            for name in names:  # `from atm_tui.bank import core` names a module
                if f"{node.module}.{name}" in modules():
                    found.append((f"{node.module}.{name}", []))
            found.append((node.module, names))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("atm_tui")]
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: {dep for dep, _ in imports(p) if dep in mods and dep != m} for m, p in mods.items()}


def test_no_import_circle_in_bank_or_sim() -> None:
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(g[m]):
            if state.get(dep) == 1:
                pytest.fail("import circle: " + " -> ".join(stack[stack.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)


def test_the_circle_check_sees_the_trace_module_and_its_two_event_sets() -> None:
    g = graph()
    assert {"atm_tui.sim.events", "atm_tui.sim.pipeline_events"} <= g["atm_tui.sim.trace"]
    assert "atm_tui.sim.pipeline_events" not in g["atm_tui.sim.events"]


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_private_name_is_imported_from_another_module(name: str) -> None:
    private = [(m, n) for m, names in imports(modules()[name]) for n in names if n.startswith("_")]
    assert not private, private


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_engine_module_is_over_450_lines(name: str) -> None:
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines"
