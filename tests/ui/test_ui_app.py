"""The app driven through its keys (Pilot), checked on the panes and on the SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Digits, Static
from ui_helpers import balance, make_app, query

from atm_tui.sim.atm.compare import twin_path
from atm_tui.sim.report import check_database
from atm_tui.ui.app import AtmApp
from atm_tui.ui.screens.modals import ConfirmScreen, HelpScreen
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.diagram import SequenceDiagram


def text_of(app: AtmApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def bank_text(app: AtmApp, pane: str = "#bank") -> str:
    bank = app.query_one(pane, BankPane)
    parts = [str(w.render()) for w in bank.query(Static)]
    parts.append(str(bank.query_one(Digits).value))
    return "\n".join(parts)


def diagram_text(app: AtmApp) -> str:
    return str(app.query_one(SequenceDiagram).render())


async def test_story_h_h_w_one_debit(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        # The database: T123 arrived three times, one ledger row, Rs 45,000.
        assert query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id") == [
            ("T123", 1, "processed"), ("T123", 2, "replayed"), ("T123", 3, "replayed"),
        ]
        assert query(db, "SELECT txn_id, amount FROM ledger") == [("T123", 5000)]
        assert query(db, "SELECT hits FROM idempotency_keys WHERE key = 'T123'") == [(3,)]
        assert balance(db) == 45_000
        # The panes say the same.
        bank = bank_text(app)
        assert "Balance: Rs 45,000" in bank
        assert "45,000" == app.query_one("#bank", BankPane).query_one(Digits).value
        assert "T123: 3 deliveries, processed once, 2 replays" in bank
        assert "Ledger: 1 row" in bank
        assert "db: bank.db" in bank
        screen = text_of(app, "#atm-screen")
        assert "Please take your cash: Rs 5,000." in screen
        receipt = text_of(app, "#atm-receipt")
        assert "T123" in receipt and "dispensed" in receipt and "replayed" in receipt
        assert "balance after: Rs 45,000" in receipt
        diagram = diagram_text(app)
        for label in ("T123 #1", "T123 #2", "T123 #3"):
            assert label in diagram
        assert diagram.count("✕ LOST") == 2
        assert "↺ replay" in diagram
        assert "delivered 3 times, debited once" in text_of(app, "#caption")


async def test_naive_twin_after_i(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("i", "h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        assert query(db, "SELECT txn_id, amount FROM ledger") == [("T123", 5000)] * 3
        assert balance(db) == 35_000
        bank = bank_text(app)
        assert "Balance: Rs 35,000" in bank
        assert "⚠ T123: debited 3 times" in bank
        assert "⚠ NAIVE" in str(app.query_one("#toggles").render())
        assert "debited 3 times" in text_of(app, "#caption")


async def test_compare_mode_side_by_side(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        assert not app.query_one("#twin").display
        await pilot.press("c", "h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        assert app.query_one("#twin").display
        assert balance(db) == 45_000
        assert balance(twin_path(str(db))) == 35_000
        assert "Balance: Rs 45,000" in bank_text(app, "#bank")
        twin = bank_text(app, "#twin")
        assert "Balance: Rs 35,000" in twin
        assert "db: bank-naive.db" in twin
        assert diagram_text(app).count("twin: debit Rs 5,000") >= 2
        await pilot.press("c")
        await pilot.pause()
        assert not app.query_one("#twin").display


async def test_reset_asks_first(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c", "w")  # c: the naive twin too, which ctrl+r resets with the bank
        await app.settle(60)
        assert balance(db) == 45_000
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert balance(db) == 45_000
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("y")
        await app.settle(0)
        await pilot.pause()
        assert balance(db) == 50_000
        assert query(db, "SELECT count(*) FROM ledger") == [(0,)]
        assert query(db, "SELECT count(*) FROM deliveries") == [(0,)]
        assert balance(twin_path(str(db))) == 50_000
        assert "Balance: Rs 50,000" in bank_text(app)
        # A new run: the story starts again from T123.
        await pilot.press("w")
        await app.settle(60)
        assert query(db, "SELECT txn_id FROM ledger") == [("T123",)]


async def test_pause_freezes_the_virtual_clock(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.engine is not None
        await pilot.press("w", "space")
        frozen = app.engine.now
        await app.settle(30)
        assert app.engine.now == frozen
        assert query(db, "SELECT count(*) FROM deliveries") == [(0,)]
        assert "PAUSED" in text_of(app, "#topbar")
        await pilot.press("space")
        await app.settle(1)
        assert app.engine.now == frozen + 1000
        await pilot.press("plus")
        await app.settle(1)
        assert app.engine.now == frozen + 3000
        await app.settle(60)
        assert query(db, "SELECT count(*) FROM ledger") == [(1,)]


async def test_storm_stays_correct(tmp_path: Path) -> None:
    app = make_app(tmp_path, opening_balance=1_000_000)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("S")
        for _ in range(20):
            await app.settle(30)
            if not app.view.storm_running:
                break
        await pilot.pause()
        view = app.view
        assert view.storm_done == view.storm_total == 100
        assert len(view.rows) <= view.rows.maxlen  # type: ignore[operator]
        assert view.rows_total > len(view.rows) or view.rows_total == len(view.rows)
        counts = view.tally.counts
        assert counts["withdrawals"] == 100
        conn = sqlite3.connect(str(db))
        try:
            _, bal, rows, checks = check_database(
                conn, "A-1001", view.tally.dispensed, view.tally.expected_bodies, view.tally.replay_mismatches
            )
            delivered = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        finally:
            conn.close()
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
        assert delivered == counts["deliveries"]
        assert bal == 1_000_000 - 100 * rows  # the storm withdraws Rs 100 each
        assert f"arrived {counts['deliveries']}" in text_of(app, "#counters")
        assert f"Ledger: {rows} row" in bank_text(app)
        assert "Storm: 100 of 100 finished" in text_of(app, "#atm-screen")
        # The storm's random faults ended with it.
        assert app.engine is not None
        assert app.engine.network.request.config.drop == 0.0
        assert app.engine.network.reply.config.drop == 0.0
        assert app.engine.network.request.config.duplicate == 0.0


async def test_help_and_amount_entry(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"abc", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#amount-error", Static).render())
        assert "multiple of 100" in error
        await pilot.press("backspace", "backspace", "backspace", *"2500", "enter")
        await pilot.pause()
        assert app.amount == 2_500
        await pilot.press("w")
        await app.settle(60)
        assert query(tmp_path / "bank.db", "SELECT amount FROM ledger") == [(2_500,)]


async def test_bad_database_is_a_message_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-bank.db"
    bad.write_text("hello, this is not SQLite")
    app = make_app(tmp_path, db=str(bad), fresh=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.engine is None
        assert "not a SQLite database" in app.error
        await pilot.press("w")  # does nothing, raises nothing
        await pilot.press("q")
    assert bad.read_text() == "hello, this is not SQLite"


async def test_unknown_outcome_then_status_tells_the_truth(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("d", "w")
        await app.settle(60)
        await pilot.pause()
        assert "Status unknown" in text_of(app, "#atm-screen")
        assert "✕ DROPPED" in str(app.query_one("#toggles").render())
        # One diagram row says the ATM gave up: not a second "T123 unknown" row under it.
        unknown_rows = [r.label for r in app.view.rows if "unknown" in r.label]
        assert unknown_rows == ["? T123: gave up, outcome unknown"]
        await pilot.press("d", "s")
        await app.settle(10)
        await pilot.pause()
        screen = text_of(app, "#atm-screen")
        assert "Bank's record of T123: debited (approved)." in screen and "dispenses nothing" in screen
        assert "1 debit for T123" in screen
        assert "debited" in text_of(app, "#caption")
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM ledger") == [(1,)]


async def test_screenshot_key_saves_svg_and_says_where(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    app = make_app(tmp_path, screenshot_dir=str(shots))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list(shots.glob("atm-tui-*.svg"))
        assert len(saved) == 1 and "<svg" in saved[0].read_text()
        assert any(str(saved[0]) in str(n) for n in app.notices)


async def test_dropped_request_and_duplicate_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("H", "u", "w")
        await app.settle(60)
        await pilot.pause()
        # #1 was lost before the bank; #2 arrived twice (the network's duplicate): the copy came
        # while the first was still being processed ("in progress", nothing stored), one debit.
        assert sorted(query(db, "SELECT txn_id, attempt, outcome FROM deliveries")) == [
            ("T123", 2, "in_progress"), ("T123", 2, "processed"),
        ]
        assert query(db, "SELECT txn_id FROM ledger") == [("T123",)]
        assert balance(db) == 45_000
        diagram = diagram_text(app)
        assert "✕ LOST" in diagram and "⧉ copy 2" in diagram and "⧉ T123 #2" in diagram
        assert "T123 still in progress" in diagram
        assert "T123: 2 deliveries, processed once, 0 replays" in bank_text(app)


async def test_a_failing_worker_says_so_on_screen_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import html

    from atm_tui.ui.core.session import Session

    async def broken(self: Session) -> None:
        raise RuntimeError("the twin's folder vanished")

    monkeypatch.setattr(Session, "open_twin", broken)  # the first c opens the twin in a worker
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()  # the toast is drawn on the frame after the notification
        assert app.worker_errors == 1
        said = [n for n in app.notices if "the twin's folder vanished" in n]
        assert said and "failed" in said[0]
        # On screen, not only logged: the frame as a terminal would show it has the message.
        frame = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        assert "folder vanished" in frame
        assert app.is_running
        await pilot.press("w")  # and the app goes on
        await app.settle(10)
        assert query(tmp_path / "bank.db", "SELECT txn_id FROM ledger") == [("T123",)]


def test_the_pipeline_presenter_and_scenarios_load_on_first_use_not_before_the_first_frame(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    code = f"""
import asyncio, sys
from atm_tui.ui.app import AtmApp, Settings
app = AtmApp(Settings(db={str(tmp_path / "bank.db")!r}, fresh=True))
loaded = []

async def auto_pilot(pilot):
    while app.bank_reads == 0:
        await asyncio.sleep(0.001)
    await pilot.pause()
    loaded.extend(sorted(m for m in sys.modules if m.startswith("atm_tui")))
    await pilot.press("p")  # first use: the pipeline's modules load now
    while app.pipeline is None:
        await asyncio.sleep(0.01)
    loaded.append("--")
    loaded.extend(sorted(m for m in sys.modules if m.startswith("atm_tui.sim.pipeline")))
    app.exit(0)

app.run(headless=True, size=(120, 36), auto_pilot=auto_pilot)
print(" ".join(loaded))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, after = proc.stdout.strip().split(" -- ")
    at_first_frame = first.split()
    assert "atm_tui.ui.app" in at_first_frame and "atm_tui.sim.atm.engine" in at_first_frame
    late = [m for m in at_first_frame if m.startswith(("atm_tui.sim.pipeline", "atm_tui.scenarios"))
            or m in ("atm_tui.ui.core.presenter", "atm_tui.ui.widgets.pipeline_view",
                     "atm_tui.ui.screens.pipeline", "atm_tui.bank.pipeline_store")]
    assert late == []
    assert "atm_tui.sim.pipeline.pipeline" in after.split()
