"""What a newcomer meets first: one message per refused key, home as ~ in the screenshot notice."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from ui_helpers import make_app


async def test_a_refused_key_says_so_once(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="t123", scenario_dir=str(tmp_path), no_animation=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        before = len(app.notices)
        await pilot.press("w")
        await pilot.pause()
        said = list(app.notices)[before:]
        assert len(said) == 1 and said[0].startswith("w is off while a scenario plays")
        await pilot.press("h", "u")
        await pilot.pause()
        assert len(app.notices) == before + 3  # one line per press, never two


async def test_screenshot_notice_writes_home_as_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    shots = tmp_path / "shots"
    app = make_app(tmp_path, screenshot_dir=str(shots))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list(shots.glob("atm-tui-*.svg"))
        assert len(saved) == 1
        notice = [n for n in app.notices if n.startswith("screenshot saved: ")]
        assert notice == [f"screenshot saved: ~/shots/{saved[0].name}"]
        assert str(tmp_path) not in notice[0]


DEV_PY = Path(__file__).resolve().parents[2] / "dev.py"


def load_dev() -> ModuleType:
    """dev.py as a module (it is a script beside the package, not part of it)."""
    spec = importlib.util.spec_from_file_location("dev", DEV_PY)
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    return dev


def test_dev_py_demo_installs_the_app_only_and_test_adds_the_tools() -> None:
    dev = load_dev()
    h, h2 = "a" * 64, "b" * 64
    assert dev.needs_install("", h, "") and dev.needs_install("", h, "test")  # a fresh clone
    demo = dev.stamp_after("", h, "")
    assert demo == h and not dev.needs_install(demo, h, "")
    assert dev.needs_install(demo, h, "test")  # `dev.py test` after `dev.py demo` adds the tools
    full = dev.stamp_after(demo, h, "test")
    assert full == f"{h} test"
    assert not dev.needs_install(full, h, "") and not dev.needs_install(full, h, "test")
    assert dev.needs_install(full, h2, "") and dev.stamp_after(full, h2, "") == h2  # pyproject changed
    assert dev.needs_install(h, h, "test")  # a stamp of the old format (hash only): reinstall once
    # What each command asks pip for (read from the source, so a change of mind is caught).
    source = DEV_PY.read_text()
    assert 'ensure_venv("" if command == "demo" else "test")' in source
    assert '"-e", f".[{extra}]" if extra else "."' in source


def test_dev_py_test_runs_two_workers_a_core_only_with_xdist_installed_and_no_choice_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = load_dev()
    monkeypatch.setattr(dev, "VENV", tmp_path)
    assert dev.workers([]) == []  # no pytest-xdist in the venv: one process, as before
    plugin = tmp_path / "lib" / "python3.11" / "site-packages" / "xdist"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text("")
    monkeypatch.setattr(dev.os, "cpu_count", lambda: 2)
    assert dev.workers(["-q", "-k", "money"]) == ["-n", "4", "--dist", "loadgroup"]
    for own in (["-n", "0"], ["-n0"], ["--numprocesses=4"], ["--dist", "load"], ["-p", "no:xdist"]):
        assert dev.workers(["-x", *own]) == [], own


def test_dev_py_test_runs_pytest_with_the_bytecode_cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = load_dev()
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("ATM_TUI_SOMETHING", "kept")
    env = dev.with_bytecode_cache()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["ATM_TUI_SOMETHING"] == "kept"
    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"  # dev.py's own environment is left as it is
    source = DEV_PY.read_text()
    assert '*workers(rest), *rest, env=with_bytecode_cache())' in source


def test_simulate_names_a_file_under_home_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from atm_tui.cli.main import main

    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["simulate", "--db", str(tmp_path / "b.db"), "--fresh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("database: ~/b.db (WAL") and str(tmp_path) not in out
