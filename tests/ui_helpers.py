"""Shared helpers for the UI tests: an app on a fresh database with a wall clock the test moves."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from atm_tui.ui.app import AtmApp, FakeClock, Settings


def make_app(tmp_path: Path, **overrides: Any) -> AtmApp:
    settings = Settings(db=str(tmp_path / "bank.db"), fresh=True, wall=FakeClock(), shown_db="bank.db")
    for name, value in overrides.items():
        setattr(settings, name, value)
    app = AtmApp(settings)
    app.animation_level = "none"  # with the fake clock and no cursor blink, frames are repeatable
    return app


def query(db: str | Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(str(db))
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def balance(db: str | Path) -> int:
    return int(query(db, "SELECT balance FROM accounts")[0][0])


async def palette(pilot: Any, text: str) -> None:
    """Run a command of the palette as a person does: ctrl+p, type `text`, enter."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause()
