"""Pipeline mode driven through its keys (Pilot), checked on the SQLite file and on the view."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import balance, make_app, palette, query

from atm_tui.ui.app import AtmApp
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.diagram import SequenceDiagram
from atm_tui.ui.widgets.key_bar import KeyBar
from atm_tui.ui.widgets.pipeline_view import PipelinePanel, PipelineToggles


def panel(app: AtmApp) -> str:
    return str(app.query_one(PipelinePanel).render())


def toggles(app: AtmApp) -> str:
    return str(app.query_one(PipelineToggles).render())


def bank_text(app: AtmApp) -> str:
    return "\n".join(str(w.render()) for w in app.query_one("#bank", BankPane).query(Static))


def events(app: AtmApp) -> str:
    """The event list in full (the panel crops each line to its width)."""
    return "\n".join(f"{line.symbol} {line.text}" for line in app.pipe_model.lines)


def caption(app: AtmApp) -> str:
    return str(app.query_one("#caption", Static).render())


def charges(db: Path) -> list[tuple[str, int]]:
    sql = "SELECT txn_id, count(*) FROM ledger WHERE operation = 'charge' GROUP BY txn_id ORDER BY id"
    return query(db, sql)


async def enter_pipeline(app: AtmApp, pilot: Pilot[int]) -> None:
    await pilot.press("p")
    await app.settle(0)
    await pilot.pause()
    assert app.pipeline_mode and app.pipeline is not None


async def run(app: AtmApp, pilot: Pilot[int], *keys: str, seconds: float = 10) -> None:
    await pilot.press(*keys)
    await app.settle(seconds)
    await pilot.pause()


async def test_naive_consumer_crash_before_commit_charges_twice(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "i", "i", seconds=0)  # idempotent -> transactional -> naive
        assert "⚠ NAIVE" in toggles(app)
        await run(app, pilot, "K", "w")
        # The database: M1 was delivered twice and charged twice; no key was stored.
        assert charges(db) == [("M1", 2)]
        assert query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id") == [
            ("M1", 1, "processed"), ("M1", 2, "processed"),
        ]  # fmt: skip
        assert query(db, "SELECT count(*) FROM idempotency_keys") == [(0,)]
        assert query(db, "SELECT next_offset FROM consumer_offsets") == [(1,)]
        assert balance(db) == 49_000
        # The view says the same, with a symbol and a word.
        text = panel(app)
        assert "⚠ DOUBLE: charged 2x" in text
        assert "⚠ M1 CHARGED AGAIN (2x): double charge" in text
        assert "⚠ double-charged 1" in text
        assert "crashed with M1 in hand" in text
        crash = "consumer e1 crashed with M1 in hand: after the charge, before the offset commit"
        assert crash in events(app)
        assert "↻ M1 delivered again (delivery 2)" in text
        assert "committed: a restart reads from 1" in text
        assert "M1 charged 2 times: its offset was not committed" in caption(app)
        bank = bank_text(app)
        assert "⚠ M1: debited twice" in bank
        assert "Balance: Rs 49,000" in bank
        assert app.query_one("#bank", BankPane).border_subtitle == "consumer: naive"


async def test_idempotent_consumer_skips_the_redelivery(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        assert "● idempotent" in toggles(app)
        await run(app, pilot, "K", "w")
        assert charges(db) == [("M1", 1)]
        assert query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id") == [
            ("M1", 1, "processed"), ("M1", 2, "replayed"),
        ]  # fmt: skip
        assert query(db, "SELECT key, hits FROM idempotency_keys") == [("M1", 2)]
        assert balance(db) == 49_500
        text = panel(app)
        assert "$ charged once ↺ 1 skipped" in text
        assert "↺ M1 already charged: re-delivery skipped (hits 2)" in text
        assert "double-charged 0" in text and "⚠ double" not in text
        assert "skipped, no second charge" in caption(app)
        assert "M1: 2 deliveries, processed once, 1 replay" in bank_text(app)


async def test_transactional_consumer_charges_once_and_skips_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "i", seconds=0)
        assert "● transactional" in toggles(app)
        await run(app, pilot, "K", "w")
        # The crash fell inside the charge's transaction: charge, delivery and offset rolled back.
        assert charges(db) == [("M1", 1)]
        rows = query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id")
        assert rows == [("M1", 2, "processed")]
        assert query(db, "SELECT next_offset FROM consumer_offsets") == [(1,)]
        assert balance(db) == 49_500
        text = panel(app)
        assert "crashed with M1 in hand: inside the charge's transaction, before COMMIT" in events(app)
        assert "$ charged once" in text and "skipped" not in text.split("─ events")[0]
        assert "with the charge, one transaction" in events(app)
        counts = app.pipe_model.counts
        assert (counts["charged"], counts["skipped"], counts["consumer_crashes"]) == (1, 0, 1)


async def test_k_crashes_the_consumer_and_a_new_one_recovers(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "w", seconds=5)
        assert charges(db) == [("M1", 1)]
        (epoch,) = query(db, "SELECT epoch FROM consumer_groups")[0]
        assert f"○ idle e{epoch}" in toggles(app)
        await run(app, pilot, "k", seconds=0)
        assert "✕ DOWN" in toggles(app)
        assert "consumer ✕ DOWN" in panel(app)
        assert app.screen.check_action("crash_consumer", ()) is None  # greyed: nothing to crash
        # A message produced while the consumer is down waits in the log.
        await run(app, pilot, "w", seconds=1)
        assert charges(db) == [("M1", 1)]
        assert "· not charged" in panel(app)
        # The replacement joins with the next epoch, reads from the committed offset, charges M2.
        await run(app, pilot, seconds=5)
        assert charges(db) == [("M1", 1), ("M2", 1)]
        assert query(db, "SELECT epoch FROM consumer_groups") == [(epoch + 1,)]
        assert query(db, "SELECT next_offset, epoch FROM consumer_offsets") == [(2, epoch + 1)]
        assert f"○ idle e{epoch + 1}" in toggles(app)
        assert f"consumer joined: epoch {epoch + 1}" in panel(app)
        assert app.screen.check_action("crash_consumer", ()) is True


async def test_idempotent_producer_drops_the_resend_after_a_lost_ack(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        assert app.pipeline is not None
        await run(app, pilot, "h", "w")
        assert [r.message_id for r in app.pipeline.broker.log[0]] == ["M1"]
        text = panel(app)
        assert "✕ ack for M1 lost" in text
        assert "↻ M1 resent, attempt 2 (same seq 0)" in text
        assert "⧉ M1 duplicate dropped: seq 0 already at 0/0" in text
        assert "dup dropped 1" in text
        assert charges(db) == [("M1", 1)]
        # A plain producer (I restarts the service without idempotence) appends the resend again;
        # the idempotent consumer still charges M2 once.
        await run(app, pilot, "I", seconds=3)
        assert "⚠ PLAIN" in toggles(app)
        await run(app, pilot, "h", "w")
        assert [r.message_id for r in app.pipeline.broker.log[0]] == ["M1", "M2", "M2"]
        text = panel(app)
        assert "⧉ M2 appended AGAIN at 0/2: the log holds it 2x" in text
        assert "⧉ in log 2x" in text
        assert charges(db) == [("M1", 1), ("M2", 1)]
        assert query(db, "SELECT attempt, outcome FROM deliveries WHERE txn_id = 'M2' ORDER BY id") == [
            (1, "processed"), (2, "replayed"),
        ]  # fmt: skip


async def test_keys_change_meaning_and_the_bar_says_so(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        bar = app.query_one(KeyBar)
        shown = "\n".join(str(line) for line in bar._lines(120))
        assert "w withdraw" in shown and "w produce" not in shown
        # Not a key of the ATM screen at all (it was greyed there before each mode had its screen).
        assert app.screen.check_action("crash_consumer", ()) is False
        assert app.screen.check_action("produce", ()) is False  # hidden: w withdraws here
        await enter_pipeline(app, pilot)
        bar = app.query_one(KeyBar)  # the pipeline screen's own key bar
        shown = "\n".join(str(line) for line in bar._lines(120))
        assert "w produce" in shown and "w withdraw" not in shown
        assert "h lose ack" in shown and "h drop reply" not in shown
        assert app.screen.check_action("status", ()) is None
        assert app.screen.check_action("reset", ()) is None
        assert app.screen.check_action("pause", ()) is True
        assert not app.query(SequenceDiagram)  # the pipeline screen has no sequence diagram
        await run(app, pilot, "w", "b", "r", seconds=5)
        # w produced M1 and the ATM keys did nothing: no T ids anywhere.
        assert query(db, "SELECT DISTINCT txn_id FROM deliveries") == [("M1",)]
        # p again: the diagram is back, and the pipeline's clock waits while it is hidden.
        await run(app, pilot, "p", seconds=0)
        assert not app.pipeline_mode
        assert app.pipeline is not None
        frozen = app.pipeline.now
        await run(app, pilot, "w", seconds=5)
        assert app.pipeline.now == frozen
        assert query(db, "SELECT txn_id, amount FROM ledger WHERE operation = 'withdraw'") == [("T123", 5000)]
        assert app.query_one(SequenceDiagram).region.height > 0


async def test_keys_typed_while_the_pipeline_opens_go_to_the_pipeline(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.engine is not None
        await pilot.press("p", "i", "i", "K", "w")  # typed ahead, as a presenter would
        await app.settle(10)
        await pilot.pause()
        assert app.pipeline_mode and app.pipeline is not None
        # Not the ATM's i and w: the bank mode is unchanged and nothing was withdrawn.
        assert app.engine.bank.mode == "idempotent"
        assert app.engine.atm.last is None
        assert app.pipeline.config.consumer == "naive"
        assert charges(db) == [("M1", 2)]


async def test_palette_sets_the_consumer_mode(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        assert app.pipeline is not None
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"consumer: transactional")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.pipeline.config.consumer == "transactional"


@pytest.mark.slow
async def test_a_long_run_keeps_rows_bounded_and_counters_exact(tmp_path: Path) -> None:
    app = make_app(tmp_path, opening_balance=1_000_000)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, *["S"] * 10, seconds=60)
        assert query(db, "SELECT count(*) FROM ledger WHERE operation = 'charge'") == [(200,)]
        model = app.pipe_model
        assert model.counts["charged"] == 200 and model.counts["produced"] == 200
        assert len(model.lines) == model.lines.maxlen and model.lines_total > len(model.lines)
        text = panel(app)
        assert "charged 200" in text and "produced 200" in text
        assert "older above" in text and "M200" in text
        assert len(text.splitlines()) <= app.query_one(PipelinePanel).size.height


async def test_reset_closes_the_pipeline_and_p_opens_a_new_one(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "w", seconds=5)
        await run(app, pilot, "p", "ctrl+r", "y", seconds=0)
        assert app.pipeline is None
        assert balance(db) == 50_000
        await enter_pipeline(app, pilot)
        await run(app, pilot, "w", seconds=5)
        assert charges(db) == [("M1", 1)]
        assert balance(db) == 49_500


async def test_plain_producer_and_naive_consumer_charge_a_log_duplicate_twice(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    db = tmp_path / "bank.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "i", "i", "I", seconds=3)
        assert "⚠ PLAIN" in toggles(app) and "⚠ NAIVE" in toggles(app)
        await run(app, pilot, "h", "w")
        assert app.pipeline is not None
        assert [r.message_id for r in app.pipeline.broker.log[0]] == ["M1", "M1"]
        # No crash: the two charges come from two offsets, and the view says so.
        assert app.pipe_model.counts["consumer_crashes"] == 0
        assert charges(db) == [("M1", 2)]
        assert query(db, "SELECT next_offset FROM consumer_offsets") == [(2,)]
        assert "M1 charged 2 times: a second copy of it in the log was processed too" in caption(app)
        text = panel(app)
        assert text.count("⚠ DOUBLE: charged 2x ⧉ in log 2x") == 2


async def test_a_scenario_closes_the_pipeline_and_hides_its_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario_dir=str(tmp_path / "scenarios"))
    async with app.run_test(size=(120, 36)) as pilot:
        await enter_pipeline(app, pilot)
        await run(app, pilot, "w", seconds=5)
        await palette(pilot, "Scenario: t123")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.presenter is not None
        assert app.pipeline is None and not app.pipeline_mode
        assert not app.query_one("#panes").has_class("-pipeline")
        for action in ("pipeline", "produce", "crash_consumer", "consumer_mode"):
            assert app.screen.check_action(action, ()) is False
        await run(app, pilot, "p", "k", seconds=0)
        assert app.pipeline is None and not app.pipeline_mode
