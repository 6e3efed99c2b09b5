"""Captions, the palette, the storm, a locked file and a crash: what a first-time user meets, driven
through the keys (Pilot) and checked on screen and on file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Static
from ui_helpers import balance, make_app, query

from atm_tui.sim.atm.compare import twin_path
from atm_tui.sim.report import check_database
from atm_tui.ui.app import AtmApp


def text_of(app: AtmApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def notes(app: AtmApp) -> str:
    return "\n".join(str(n) for n in app.notices)


async def test_a_database_locked_by_another_program_is_a_message_and_the_demo_goes_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.engine is not None
        # Another program (a sqlite3 shell, say) takes the write lock and keeps it.
        other = sqlite3.connect(str(db), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("w")
            for _ in range(20):  # the first delivery reaches the bank within 2 s of virtual time
                await app.settle(0.5)
                if app.store_failures:
                    break
            await pilot.pause()
            assert app.store_failures == 1
            caption = text_of(app, "#caption")
            assert "database bank.db is locked by another program" in caption
            assert "sqlite3 shell holding a transaction" in notes(app)
            assert "✕ db locked: delivery lost" in str(app.query_one("#diagram").render())
            assert "db refused 1" in text_of(app, "#counters")
            # Nothing half-written, and the key the failed delivery held is free again.
            assert other.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
            assert other.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
            assert app.engine.server.in_flight == {}
        finally:
            other.execute("ROLLBACK")
            other.close()
        # The lock is gone: the ATM times out and resends T123, which now gets through once.
        await app.settle(60)
        await pilot.pause()
        assert app.is_running
        assert query(db, "SELECT txn_id FROM ledger") == [("T123",)]
        attempts = query(db, "SELECT attempt, outcome FROM deliveries WHERE txn_id = 'T123'")
        assert attempts and attempts[0][0] >= 2 and attempts[0][1] == "processed"
        assert balance(db) == 45_000
        assert "Please take your cash" in text_of(app, "#atm-screen")
        conn = sqlite3.connect(str(db))
        try:
            tally = app.view.tally
            _, _, _, checks = check_database(
                conn, "A-1001", tally.dispensed, tally.expected_bodies, tally.replay_mismatches
            )
        finally:
            conn.close()
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]


async def test_a_lock_in_pipeline_mode_crashes_the_consumer_and_its_replacement_charges_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("p")
        await app.settle(0.1)
        other = sqlite3.connect(str(db), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("w")
            for _ in range(20):
                await app.settle(0.5)
                if app.store_failures:
                    break
            await pilot.pause()
            assert app.store_failures == 1
            caption = text_of(app, "#caption")
            assert "database bank.db is locked by another program" in caption
            assert "the consumer failed and restarts from its committed offset" in caption
            assert other.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
        finally:
            other.execute("ROLLBACK")
            other.close()
        for _ in range(10):
            await app.settle(3)
        await pilot.pause()
        assert app.is_running
        assert query(db, "SELECT txn_id, amount FROM ledger") == [("M1", 500)]
        assert balance(db) == 49_500


async def test_toggle_captions_say_on_and_off_in_words(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        said: list[str] = []
        for key in ("c", "c", "a", "a", "d", "d"):
            await pilot.press(key)
            await app.settle(0)  # the first c opens the twin's file first
            await pilot.pause()
            said.append(text_of(app, "#caption"))
        for caption in said:
            assert "True" not in caption and "False" not in caption, caption
        assert "Compare mode on: a naive twin" in said[0]
        assert "Compare mode off" in said[1] and "very same deliveries" not in said[1]
        assert "Automatic retry off" in said[2] and "press r" in said[2]
        assert "Automatic retry on" in said[3]
        assert "Every reply is dropped" in said[4]
        assert "Replies get through again" in said[5]
        # What the captions claim is what the engine did.
        assert app.engine is not None and app.engine.config.atm.auto_retry
        assert not app.engine.compare and not app.engine.network.reply.drop_all


async def test_balance_amount_theme_and_speed_each_get_a_caption(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("b")
        await app.settle(5)
        await pilot.pause()
        caption = text_of(app, "#caption")
        assert "Balance inquiry: Rs 50,000" in caption and "needs no key" in caption
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM deliveries") == [(0,)]  # a read
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"2000", "enter")
        await pilot.pause()
        assert "Amount set to Rs 2,000" in text_of(app, "#caption")
        await pilot.press("t")
        await pilot.pause()
        assert "Projector theme" in text_of(app, "#caption")
        await pilot.press("t")
        await pilot.pause()
        assert "Default theme" in text_of(app, "#caption")
        await pilot.press("plus")
        await pilot.pause()
        assert "Speed 2x" in text_of(app, "#caption")
        await pilot.press("minus", "minus", "minus", "minus")
        await pilot.pause()
        assert "Speed 0.25x" in text_of(app, "#caption") and "slowest" in text_of(app, "#caption")
        await pilot.press("space")
        await pilot.pause()
        assert "Paused" in text_of(app, "#caption")


async def test_a_decline_is_explained_in_the_caption(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path, opening_balance=3_000)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await app.settle(60)
        await pilot.pause()
        assert query(db, "SELECT txn_id, outcome FROM deliveries") == [("T123", "declined")]
        assert query(db, "SELECT count(*) FROM ledger") == [(0,)]
        caption = text_of(app, "#caption")
        assert "T123: declined" in caption and "Rs 3,000" in caption and "nothing was debited" in caption


async def test_after_an_unknown_outcome_status_puts_the_banks_answer_on_the_receipt(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("d", "w")
        await app.settle(60)
        await pilot.pause()
        assert "outcome: unknown" in text_of(app, "#atm-receipt")
        assert "unknown 1" in text_of(app, "#counters")
        await pilot.press("d", "s")
        await app.settle(10)
        await pilot.pause()
        receipt = text_of(app, "#atm-receipt")
        assert "bank says: T123 debited Rs 5,000" in receipt
        assert "no cash was dispensed" in receipt and "press r" in receipt
        counters = text_of(app, "#counters")
        assert "unknown 0" in counters and "resolved 1" in counters
        assert query(db, "SELECT txn_id FROM ledger") == [("T123",)]
        # r resends T123: the bank replays its stored answer, the cash comes out, no second debit.
        await pilot.press("r")
        await app.settle(10)
        await pilot.pause()
        assert "Please take your cash" in text_of(app, "#atm-screen")
        assert "bank says" not in text_of(app, "#atm-receipt")
        assert query(db, "SELECT txn_id FROM ledger") == [("T123",)]
        assert query(db, "SELECT outcome FROM deliveries ORDER BY id")[-1] == ("replayed",)
        assert balance(db) == 45_000


async def test_a_status_that_finds_nothing_says_nothing_was_taken(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("H", "H", "H", "w")
        await app.settle(60)
        await pilot.pause()
        assert "outcome: unknown" in text_of(app, "#atm-receipt")
        await pilot.press("s")
        await app.settle(10)
        await pilot.pause()
        assert "bank says: T123 never processed — nothing was taken" in text_of(app, "#atm-receipt")
        assert "resolved 1" in text_of(app, "#counters")
        assert query(db, "SELECT count(*) FROM ledger") == [(0,)]
        assert balance(db) == 50_000


async def test_the_storm_withdraws_rs_100_each_so_it_shows_replays_not_declines(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)  # the default Rs 50,000: 100 x Rs 5,000 would be declined 90 times
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("S")
        await pilot.pause()
        assert "100 withdrawals of Rs 100" in text_of(app, "#caption")
        for _ in range(20):
            await app.settle(30)
            if not app.view.storm_running:
                break
        await pilot.pause()
        counts = app.view.tally.counts
        assert app.view.storm_done == 100
        assert query(db, "SELECT count(*) FROM deliveries WHERE outcome = 'declined'") == [(0,)]
        assert query(db, "SELECT DISTINCT amount FROM ledger") == [(100,)]
        rows = query(db, "SELECT count(*) FROM ledger")[0][0]
        assert balance(db) == 50_000 - 100 * rows
        replays = query(db, "SELECT count(*) FROM deliveries WHERE outcome = 'replayed'")[0][0]
        assert replays == counts["replayed"] > 0 and counts["retries"] > 0
        caption = text_of(app, "#caption")
        assert f"{replays} replays" in caption and "Storm over" in caption
        assert app.amount == 5_000  # w still withdraws the chosen amount


async def test_reopened_bank_the_screen_shows_the_times_stored_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    first = make_app(tmp_path)
    async with first.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await first.settle(60)
    # The same file again: the engine's clock goes on from the stored times.
    app = make_app(tmp_path, fresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.engine is not None
        start = app.engine.now
        assert start > 1_000  # one tick after the first run's last stored time
        assert f"t {start / 1000:.1f} s" in text_of(app, "#topbar")
        await pilot.press("w")
        await app.settle(60)
        await pilot.pause()
        [(at,)] = query(db, "SELECT at FROM deliveries WHERE txn_id = 'T124' AND outcome = 'processed'")
        debit = [line for line in str(app.query_one("#diagram").render()).splitlines() if "debit Rs" in line]
        assert len(debit) == 1 and debit[0].startswith(f"{at / 1000:5.1f}│"), (at, debit)
        assert f"t {app.engine.now / 1000:.1f} s" in text_of(app, "#topbar")


async def test_the_palette_lists_each_command_once_with_its_key_and_what_it_does(tmp_path: Path) -> None:
    from textual.command import CommandList

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        options = app.screen.query_one(CommandList).options
        entries = [getattr(o.prompt, "plain", str(o.prompt)).split("\n") for o in options]
        titles = [e[0] for e in entries]
        assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
        for entry in entries:
            assert len(entry) == 1 or entry[1] != entry[0], entry
        described = {e[0]: e[1] for e in entries if len(e) == 2}
        assert described["Withdraw"].startswith("key w: ")
        assert described["Balance inquiry"].startswith("key b: ")
        assert described["Retry now, same id"].startswith("key r: ")
        assert described["Reset the bank"].startswith("key ^r: ")
        assert described["Pipeline: produce one charge"].startswith("key w, in the pipeline view: ")
        assert "Quit" in titles and titles.count("Quit") == 1
        # Choosing one runs its action on the engine.
        await pilot.press(*"drop the next reply", "enter")
        await pilot.pause()
        assert app.engine is not None and app.engine.network.reply.drop_next == 1


async def test_the_naive_twin_file_is_made_on_the_first_c_only(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    twin = Path(twin_path(str(db)))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")
        await app.settle(60)
        await pilot.pause()
        assert balance(db) == 45_000
    assert sorted(p.name for p in tmp_path.iterdir() if "naive" in p.name) == []
    # The first c opens it, from the bank's balance at that moment: from then on it gets every
    # delivery the bank gets, and debits each one.
    app = make_app(tmp_path, fresh=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c", "h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        assert twin.exists()
        assert balance(db) == 40_000
        assert balance(twin) == 30_000
        assert query(twin, "SELECT opening_balance FROM accounts") == [(45_000,)]
        assert "Balance: Rs 30,000" in "\n".join(
            str(w.render()) for w in app.query_one("#twin").query(Static)
        )
        assert app.engine is not None and app.engine.compare and app.query_one("#twin").display
        # ctrl+r empties both, each back to the bank's opening balance.
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("y")
        await app.settle(0)
        assert balance(db) == 50_000 and balance(twin) == 50_000


async def test_a_key_pressed_during_the_storm_keeps_its_caption(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("S")
        await app.settle(2)
        assert app.view.storm_running
        await pilot.press("d")
        await app.settle(1)
        await pilot.pause()
        assert app.view.storm_running and app.view.tally.counts["deliveries"] > 0
        assert "Every reply is dropped" in text_of(app, "#caption")


def test_an_unexpected_crash_does_not_exit_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from textual.app import App

    from atm_tui.ui import app as app_module
    from atm_tui.ui import launch
    from atm_tui.ui.core.session import Session

    async def broken(self: Session) -> None:
        raise RuntimeError("a bug, not a database")

    monkeypatch.setattr(Session, "pace", broken)
    monkeypatch.setattr(app_module.AtmApp, "run", lambda self: App.run(self, headless=True))
    args = argparse.Namespace(db=str(tmp_path / "bank.db"), fresh=True, seed=None)
    assert launch.run(args) == 1


async def test_the_pipeline_on_a_locked_file_says_so_and_stays_in_the_atm_view(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        other = sqlite3.connect(str(db), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("p")
            await app.settle(0)
            await pilot.pause()
            assert "pipeline not opened" in notes(app) and "locked" in notes(app)
            assert not app.pipeline_mode and app.pipeline is None
        finally:
            other.execute("ROLLBACK")
            other.close()
        await pilot.press("p")  # the file is free: it opens now
        await app.settle(0.1)
        await pilot.pause()
        assert app.pipeline_mode and app.pipeline is not None
