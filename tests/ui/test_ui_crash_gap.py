"""Split mode's lesson in the app (Pilot): x crashes the bank between the debit and the key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import balance, make_app, query

from atm_tui.sim.report import check_database
from atm_tui.ui.app import AtmApp
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.diagram import SequenceDiagram
from atm_tui.ui.widgets.toggles import TogglePanel

LEDGER = "SELECT txn_id, amount FROM ledger ORDER BY id"
DELIVERIES = "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id"


def bank_text(app: AtmApp) -> str:
    return "\n".join(str(w.render()) for w in app.query_one("#bank", BankPane).query(Static))


def screen(app: AtmApp) -> tuple[str, str, str, str]:
    """The diagram, the toggles, the caption line and the key bar, as text."""
    return (
        str(app.query_one(SequenceDiagram).render()),
        str(app.query_one(TogglePanel).render()),
        str(app.query_one("#caption", Static).render()),
        str(app.query_one("#keybar").render()),
    )


async def redraw(app: AtmApp, pilot: Pilot[int], seconds: float = 0) -> None:
    await app.settle(seconds)
    await pilot.pause()
    await app.settle(0)  # the frame-rate redraw still pending, drawn now, as the clock's tick does
    await pilot.pause()


async def test_split_x_w_crashes_in_the_gap_and_the_retry_debits_again(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await app.run_action("mode('split')", app.screen)
        await redraw(app, pilot)
        assert app.screen.check_action("crash_gap", ()) is True
        assert "x crash gap" in screen(app)[3]
        await pilot.press("x")
        await redraw(app, pilot)
        assert app.engine is not None and app.engine.server.crash_in_gap == 1
        _, toggles, caption, _ = screen(app)
        assert "x crash gap: ✕ crash 1" in toggles and "Crash armed" in caption
        await pilot.press("w")
        await redraw(app, pilot, 2)  # the debit is committed, then the bank dies before the key
        diagram, toggles, caption, _ = screen(app)
        assert "✕ BANK CRASHED" in diagram and "✕ T123 debited, no key" in diagram
        assert "between the debit of T123 and storing its key" in caption
        assert "x crash gap: · pass" in toggles  # the one-shot is spent
        assert query(db, LEDGER) == [("T123", 5000)]
        assert query(db, "SELECT count(*) FROM idempotency_keys") == [(0,)]  # the key never made it
        await redraw(app, pilot, 60)  # the restart, the ATM's timeout and its resend of T123
        diagram, _, caption, _ = screen(app)
        assert "● bank back up" in diagram and "T123 #2" in diagram
        assert "debited 2 times" in caption and "split mode" in caption
        # The database: what the crash-gap scenario claims for T123.
        assert query(db, LEDGER) == [("T123", 5000), ("T123", 5000)]
        assert query(db, DELIVERIES) == [("T123", 1, "processed"), ("T123", 2, "processed")]
        assert query(db, "SELECT key, status FROM idempotency_keys") == [("T123", "approved")]
        assert balance(db) == 40_000
        conn = sqlite3.connect(db)
        try:
            _, _, rows, checks = check_database(conn, "A-1001")
        finally:
            conn.close()
        failed = {c.name: c.ok for c in checks}
        assert rows == 2 and failed["one_ledger_row_per_key"] is False
        bank = bank_text(app)
        assert "⚠ T123: debited twice" in bank and "Balance: Rs 40,000" in bank


async def test_x_is_greyed_outside_split_mode(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await redraw(app, pilot)
        assert app.screen.check_action("crash_gap", ()) is None  # greyed: one transaction has no gap
        _, toggles, _, keybar = screen(app)
        assert "crash gap" not in keybar and "crash gap" not in toggles
        await pilot.press("x")
        await redraw(app, pilot)
        assert app.engine is not None and app.engine.server.crash_in_gap == 0
        assert any("only split mode has" in n for n in app.notices)
        assert await app.run_action("crash_gap", app.screen) is False  # the palette runs the same check
        await pilot.press("w")
        await redraw(app, pilot, 60)
        assert query(db, LEDGER) == [("T123", 5000)]
        assert "BANK CRASHED" not in screen(app)[0]


@pytest.mark.slow  # a command typed out in the palette, letter by letter
async def test_the_palette_arms_the_crash_in_split_mode(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await app.run_action("mode('split')", app.screen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"crash the bank between debit and key")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await redraw(app, pilot)
        assert app.engine is not None and app.engine.server.crash_in_gap == 1
        await pilot.press("w")
        await redraw(app, pilot, 60)
        assert query(db, LEDGER) == [("T123", 5000), ("T123", 5000)]
        # Back to one transaction: the same crash cannot be armed, and T124 is debited once.
        await app.run_action("mode('idempotent')", app.screen)
        assert app.screen.check_action("crash_gap", ()) is None
        await pilot.press("x", "w")
        await redraw(app, pilot, 60)
        assert query(db, "SELECT count(*) FROM ledger WHERE txn_id = 'T124'") == [(1,)]
