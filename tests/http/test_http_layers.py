"""The HTTP layer imports the bank and nothing above it (no sim, ui, scenarios, Textual); nor the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from atm_tui.http import retry as http_retry
from atm_tui.sim.atm import config as sim_config

PACKAGE = Path(__file__).resolve().parents[2] / "atm_tui"


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def test_http_imports_only_the_bank_of_the_project() -> None:
    # argtypes: the command line's shared flag converters, used by http/cli.py.
    allowed = ("atm_tui.bank", "atm_tui.http", "atm_tui.argtypes")
    bad = [f"{p.name}: {m}" for p in sorted((PACKAGE / "http").glob("*.py")) for m in imports(p)
           if m == "textual" or m.startswith("textual.")
           or (m.startswith("atm_tui.") and not m.startswith(allowed))]
    assert bad == []


@pytest.mark.parametrize("layer", ["bank", "sim"])
def test_the_engine_never_imports_http(layer: str) -> None:
    bad = [f"{p.name}: {m}" for p in sorted((PACKAGE / layer).rglob("*.py")) for m in imports(p)
           if m.startswith("atm_tui.http")]
    assert bad == []


def test_the_scan_sees_imports(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import textual\nfrom atm_tui.sim import engine\n")
    assert imports(tmp_path / "a.py") == ["textual", "atm_tui.sim"]


def test_the_client_names_the_engines_retry_policies() -> None:
    assert http_retry.RETRY_POLICIES == sim_config.RETRY_POLICIES
