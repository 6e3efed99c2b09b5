"""`atm-tui class --db FILE|URL`: the teacher's class view on its own, for any bank, PostgreSQL too."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from textual.app import App

from atm_tui.bank.postgres import is_url, shown
from atm_tui.paths import quoted
from atm_tui.ui.screens.class_view import ClassScreen, read_lanes


class ClassApp(App[int]):
    """Only the class view: the lanes of every client of one bank, read from its tables."""

    TITLE = "atm-tui class"

    def __init__(self, db: str, label: str) -> None:
        super().__init__()
        self.db = db
        self.label = label

    def on_mount(self) -> None:
        # Closing the view (l or escape) ends the program, as q does.
        self.push_screen(ClassScreen(self.db, self.label), callback=lambda _: self.exit(0))


def problem_of(db: str) -> str | None:
    """Why the bank cannot be read, in one line (None: it can). Nothing is created or written."""
    if not is_url(db):
        path = Path(db).expanduser()
        if not path.is_file():
            return f"--db {quoted(db)}: no such bank file; give the file `serve` or the app writes"
    try:
        read_lanes(db if is_url(db) else str(Path(db).expanduser()))
    except sqlite3.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = shown(db) if is_url(db) else quoted(db)
        return f"--db {where}: cannot read its deliveries, ledger and keys ({reason}); is it an atm-tui bank?"
    return None


def run_class(args: argparse.Namespace) -> int:
    problem = problem_of(args.db)
    if problem:
        sys.stderr.write(f"atm-tui class: error: {problem}\n")
        return 2
    db = args.db if is_url(args.db) else str(Path(args.db).expanduser())
    label = shown(db) if is_url(db) else quoted(db)
    return ClassApp(db, label).run() or 0
