"""The app's entry point and its bad inputs: one line, exit 2, no traceback, nothing written."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Static
from ui_helpers import make_app

from atm_tui.ui.screens.modals import ErrorScreen


def _atm_tui(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "atm_tui", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_missing_folder_is_one_line(tmp_path: Path) -> None:
    out = _atm_tui("--db", str(tmp_path / "nowhere" / "bank.db"))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "does not exist" in out.stderr and "nowhere" in out.stderr
    assert not (tmp_path / "nowhere").exists()


def test_not_a_database_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("not sqlite")
    out = _atm_tui("--db", str(bad))
    assert out.returncode == 2
    assert "not a SQLite database" in out.stderr and "Traceback" not in out.stderr
    assert bad.read_text() == "not sqlite"


@pytest.mark.slow  # waits out the bank's real busy timeout
async def test_locked_database_is_shown_on_screen(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    sqlite3.connect(str(db)).execute("CREATE TABLE t (x)").connection.close()
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        app = make_app(tmp_path, fresh=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ErrorScreen)
            message = str(app.screen.query_one("#error-message", Static).render())
            assert "locked" in message
            await pilot.press("q")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_command_palette_lists_the_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.engine is not None
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"loses the next reply")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.network.reply.drop_next == 1
