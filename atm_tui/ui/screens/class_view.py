"""The teacher's class view (key `l`): every client's lane, read from the bank file twice a second."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from atm_tui.bank.backend import connect
from atm_tui.bank.queries import ClientLane, client_lanes
from atm_tui.ui.models.class_view import ClassModel
from atm_tui.ui.widgets.class_lanes import ClassLanes

READS_PER_SECOND = 2


def read_lanes(db: str) -> list[ClientLane]:
    """One read of the lanes on a connection of its own (this runs on a worker thread).

    `db` is the bank's file, or the URL of a PostgreSQL bank that `serve` processes share.
    """
    conn = connect(db)
    try:
        return client_lanes(conn)
    finally:
        conn.close()


class ClassScreen(Screen[None]):
    """One lane per client over the whole bank: what every server wrote, not only this app's."""

    DEFAULT_CSS = """
    ClassScreen #class-title { height: 1; text-style: bold; background: $primary-background; padding: 0 1; }
    ClassScreen #class-caption { height: auto; color: $text-muted; padding: 0 1; }
    ClassScreen #class-totals { height: 2; text-style: bold; padding: 0 1; }
    ClassScreen #class-verdict { height: auto; padding: 0 1; color: $success; }
    ClassScreen #class-verdict.-doubled { color: $error; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "close", "back", id="atm-tui.class_view.close",
                tooltip="Back to the ATM, network and bank"),
        Binding("escape", "close", "back", show=False),
        Binding("q", "app.quit", "quit", id="atm-tui.class_view.quit"),
    ]

    def __init__(self, db: str, label: str = "") -> None:
        super().__init__()
        self.db = db
        self.label = label or db
        self.reads = 0
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Static(f"Class view: every client of the bank {self.label}", id="class-title")
        yield ClassLanes(id="class-lanes")
        yield Static(id="class-totals")
        yield Static(id="class-verdict")
        yield Static(ClassModel(()).caption(), id="class-caption")
        yield Footer()

    async def on_mount(self) -> None:
        await self.reread()
        self.set_interval(1 / READS_PER_SECOND, self.reread, name="class-read")

    async def reread(self) -> None:
        try:
            lanes = await asyncio.to_thread(read_lanes, self.db)
        except sqlite3.Error as exc:
            self.problem = f"✕ cannot read the bank file {self.label}: {exc}"
            self.query_one("#class-verdict", Static).update(self.problem)
            return
        self.reads += 1
        self.show(ClassModel.of(lanes))

    def show(self, model: ClassModel) -> None:
        self.query_one(ClassLanes).show(model)
        self.query_one("#class-totals", Static).update(Text(model.total_line()))
        verdict = self.query_one("#class-verdict", Static)
        verdict.update(model.verdict())
        verdict.set_class(bool(model.totals().doubled), "-doubled")

    def action_close(self) -> None:
        self.dismiss(None)
