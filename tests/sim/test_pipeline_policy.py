"""The engine records and decides: intents as Control events, the store-failure and restart policies."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Control, Event, StoreFailed
from atm_tui.sim.pipeline.events import ConsumerCrashed, ConsumerStarted, Produced
from atm_tui.sim.pipeline.pipeline import Pipeline, PipelineConfig
from atm_tui.sim.pipeline.replay import replay
from atm_tui.sim.trace import from_dict

OPENING = 50_000


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


async def open_pipeline(db: Path, config: PipelineConfig) -> tuple[Pipeline, list[Event]]:
    pipeline = await Pipeline.open(config, StoreConfig(str(db), opening_balance=OPENING))
    events: list[Event] = []
    pipeline.subscribe(events.append)
    return pipeline, events


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another program (a teacher's sqlite3 shell) takes the file's write lock and keeps it."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def release(other: sqlite3.Connection) -> None:
    other.execute("ROLLBACK")
    other.close()


# -- intents are Control events ---------------------------------------------------------------------
async def test_publish_is_a_control_event_and_produce_is_not(tmp_path: Path) -> None:
    pipeline, events = await open_pipeline(tmp_path / "bank.db", PipelineConfig(messages=0))
    try:
        pipeline.start()
        pipeline.publish(2)
        pipeline.produce(1)  # what start() uses: no intent of its own
        await pipeline.run_until_idle()
    finally:
        await pipeline.close()
    controls = [(e.name, e.value) for e in events if isinstance(e, Control)]
    assert controls == [("pipeline", "0 messages"), ("produce", "2")]
    assert [e.txn_id for e in events if isinstance(e, Produced)] == ["M1", "M2", "M3"]
    assert rows(tmp_path / "bank.db", "SELECT txn_id FROM ledger ORDER BY id") == [("M1",), ("M2",), ("M3",)]


async def drive_by_hand(pipeline: Pipeline) -> None:
    """Keys pressed while the clock runs, as the live pipeline view does: w, h, K, i, k, w w."""
    pipeline.start(0)
    steps: list[tuple[int, Any]] = [
        (100, lambda: pipeline.publish(3)),
        (150, lambda: pipeline.lose_next_acks(1)),
        (400, lambda: pipeline.crash_before_next_commits(1)),
        (900, lambda: pipeline.set_consumer_mode("naive")),
        (900, lambda: pipeline.publish(1)),  # two keys in one frame: nothing runs between them
        (2_500, lambda: pipeline.crash_consumer()),
        (2_600, lambda: pipeline.set_rate("lost_ack", 0.5)),
        (3_000, lambda: pipeline.publish(4)),
        (3_300, lambda: pipeline.restart_producer()),
        (4_000, lambda: pipeline.set_producer_idempotent(False)),
        (4_100, lambda: pipeline.stall_next_consumers(1)),
        (4_200, lambda: pipeline.publish(2)),
    ]
    start = pipeline.now
    for at, key in steps:
        if start + at > pipeline.now:
            await pipeline.advance_to(start + at)
        key()
    await pipeline.run_until_idle()


async def test_a_run_replayed_from_its_control_events_gives_the_same_ledger(tmp_path: Path) -> None:
    config = PipelineConfig(seed=5, messages=0, lost_ack=0.1)
    original, events = await open_pipeline(tmp_path / "live.db", config)
    try:
        await drive_by_hand(original)
    finally:
        await original.close()
    trace = [e.to_json() for e in events]
    recorded = [from_dict(json.loads(line)) for line in trace]

    again, replayed_events = await open_pipeline(tmp_path / "replay.db", PipelineConfig(seed=5, messages=0,
                                                                                          lost_ack=0.1))
    try:
        applied = await replay(again, recorded)
    finally:
        await again.close()
    assert applied == sum(isinstance(e, Control) for e in recorded) == 13
    ledger = "SELECT txn_id, amount, balance_after, at, operation FROM ledger ORDER BY id"
    live = rows(tmp_path / "live.db", ledger)
    assert live and rows(tmp_path / "replay.db", ledger) == live
    assert any(n > 1 for (n,) in rows(tmp_path / "live.db", "SELECT count(*) FROM ledger GROUP BY txn_id"))
    # Not only the ledger: the whole trace, byte for byte.
    assert [e.to_json() for e in replayed_events] == trace


# -- the store-failure and restart policies ---------------------------------------------------------
async def test_a_locked_file_during_a_charge_crashes_the_consumer_and_its_replacement_charges_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bank.db"
    pipeline, events = await open_pipeline(db, PipelineConfig(messages=2, consumer="idempotent"))
    try:
        pipeline.start()
        await pipeline.advance_to(pipeline.now + 10)  # the consumer has joined the group
        other = hold_write_lock(db)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await pipeline.run_until_idle()
        finally:
            release(other)
        failed = [e for e in events if isinstance(e, StoreFailed)]
        assert [(e.txn_id, e.where) for e in failed] == [("M1", "consumer: the charge")]
        assert "locked" in failed[0].error
        crashed = [e for e in events if isinstance(e, ConsumerCrashed)]
        assert [(e.txn_id, e.where) for e in crashed] == [("M1", "the bank's file refused its transaction")]
        assert not pipeline.consumer_up  # the policy killed it; no Control event says a person did
        assert not [e for e in events if isinstance(e, Control) and e.name == "crash_consumer"]
        assert rows(db, "SELECT count(*) FROM ledger") == [(0,)]  # the refused charge rolled back
        await pipeline.run_until_idle()  # the replacement joins after `restart` ms
    finally:
        await pipeline.close()
    assert [e.epoch for e in events if isinstance(e, ConsumerStarted)] == [1, 2]
    assert rows(db, "SELECT txn_id, amount FROM ledger ORDER BY id") == [("M1", 500), ("M2", 500)]
    assert rows(db, "SELECT balance FROM accounts") == [(OPENING - 1_000,)]


async def test_a_locked_file_while_joining_tries_again_after_the_restart_delay(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    pipeline, events = await open_pipeline(db, PipelineConfig(messages=1))
    try:
        other = hold_write_lock(db)
        try:
            pipeline.start()
            with pytest.raises(sqlite3.OperationalError):
                await pipeline.run_until_idle()
        finally:
            release(other)
        assert [e.where for e in events if isinstance(e, StoreFailed)] == ["consumer: joining the group"]
        failed_at = pipeline.now
        await pipeline.run_until_idle()
    finally:
        await pipeline.close()
    started = [e for e in events if isinstance(e, ConsumerStarted)]
    assert [e.t for e in started] == [failed_at + PipelineConfig().restart]
    assert rows(db, "SELECT txn_id FROM ledger") == [("M1",)]


async def test_a_locked_file_loses_the_atm_delivery_and_the_retry_gets_through(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    engine = await Engine.open(SimConfig(), StoreConfig(str(db), opening_balance=OPENING))
    events: list[Event] = []
    engine.world.subscribe(events.append)
    try:
        other = hold_write_lock(db)
        try:
            engine.withdraw(5_000)
            with pytest.raises(sqlite3.OperationalError):
                await engine.run_until_idle()
        finally:
            release(other)
        failed = [e for e in events if isinstance(e, StoreFailed)]
        assert [(e.txn_id, e.attempt) for e in failed] == [("T123", 1)]
        assert engine.server.in_flight == {}  # the key it held is free for the retry
        await engine.run_until_idle()
    finally:
        await engine.close()
    assert rows(db, "SELECT txn_id FROM ledger") == [("T123",)]
    assert rows(db, "SELECT attempt, outcome FROM deliveries") == [(2, "processed")]


async def test_engine_state_is_a_frozen_copy_of_the_settings(tmp_path: Path) -> None:
    engine = await Engine.open(SimConfig(), StoreConfig(str(tmp_path / "bank.db")))
    try:
        before = engine.state()
        engine.drop_next_replies(2)
        engine.set_drop_all_replies(True)
        engine.set_auto_retry(False)
        engine.set_mode("split")
        engine.crash_in_gap(1)
        after = engine.state()
    finally:
        await engine.close()
    assert (before.drop_next_replies, before.drop_all_replies, before.auto_retry, before.mode) == (
        0, False, True, "idempotent",
    )
    assert (after.drop_next_replies, after.drop_all_replies, after.auto_retry, after.mode) == (
        2, True, False, "split",
    )
    assert after.crash_in_gap == 1 and before.crash_in_gap == 0
    with pytest.raises(AttributeError):
        after.mode = "naive"  # type: ignore[misc]


async def test_pipeline_view_carries_what_the_toggles_read(tmp_path: Path) -> None:
    pipeline, _ = await open_pipeline(tmp_path / "bank.db", PipelineConfig(messages=0))
    try:
        pipeline.start()
        pipeline.lose_next_acks(2)
        pipeline.crash_before_next_commits(1)
        pipeline.set_producer_idempotent(False)
        pipeline.set_consumer_mode("transactional")
        v = pipeline.view()
    finally:
        await pipeline.close()
    assert (v.lost_acks_armed, v.crashes_armed, v.stalls_armed) == (2, 1, 0)
    assert (v.producer_up, v.producer_idempotent, v.producer_idempotent_next) == (True, True, False)
    assert (v.consumer_mode, v.topic) == ("transactional", "payments")
