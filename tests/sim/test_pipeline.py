"""The log pipeline end to end: broker deduplication, crashes, zombies, exactly-once, determinism."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples

from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.events import Event
from atm_tui.sim.pipeline.events import (
    PIPELINE_EVENT_TYPES,
    CommitRefused,
    ConsumerStalled,
    ProducerStarted,
)
from atm_tui.sim.pipeline.pipeline import NO_PRODUCER, Batch, Broker, Pipeline, PipelineConfig
from atm_tui.sim.pipeline_run import PipelineResult, simulate_pipeline
from atm_tui.sim.trace import from_dict
from atm_tui.sim.world import World

AMOUNT = 500
OPENING = 50_000


def rows(db: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """A separate plain connection, as a teacher's sqlite3 shell would read the file."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def dump(conn: sqlite3.Connection) -> list[str]:
    """Every row of every table, as SQL: equal dumps mean nothing changed."""
    return list(conn.iterdump())


def charges_per_message(db: str) -> dict[str, int]:
    return {
        str(m): int(n)
        for m, n in rows(db, "SELECT txn_id, count(*) FROM ledger WHERE operation = 'charge' GROUP BY txn_id")
    }


def run(
    db: str,
    config: PipelineConfig,
    hook: Callable[[Pipeline], None] | None = None,
    trace: str | None = None,
) -> PipelineResult:
    return asyncio.run(
        simulate_pipeline(config, StoreConfig(db, opening_balance=OPENING), trace=trace, pipeline_hook=hook)
    )


# -- the broker ------------------------------------------------------------------------------------
def test_broker_drops_a_resend_it_remembers_and_refuses_one_it_forgot() -> None:
    broker = Broker(World(0), 1)
    pid, epoch = broker.init_producer("svc")
    for seq in range(7):
        assert broker.produce(Batch(f"M{seq}", AMOUNT, 0, pid, epoch, seq), 1).status == "appended"
    again = broker.produce(Batch("M3", AMOUNT, 0, pid, epoch, 3), 2)
    assert (again.status, again.offset) == ("duplicate", 3)
    # Only the last 5 batches (seq 2..6) are remembered: seq 1 can no longer be recognised.
    assert broker.produce(Batch("M1", AMOUNT, 0, pid, epoch, 1), 2).status == "out_of_order"
    assert broker.produce(Batch("M9", AMOUNT, 0, pid, epoch, 9), 1).status == "out_of_order"
    assert [r.message_id for r in broker.log[0]] == [f"M{i}" for i in range(7)]


def test_broker_fences_an_older_producer_epoch() -> None:
    broker = Broker(World(0), 1)
    pid, old = broker.init_producer("svc")
    same_pid, new = broker.init_producer("svc")
    assert (same_pid, new) == (pid, old + 1)
    assert broker.produce(Batch("M1", AMOUNT, 0, pid, old, 0), 1).status == "fenced"
    assert broker.produce(Batch("M1", AMOUNT, 0, pid, new, 0), 1).status == "appended"
    assert len(broker.log[0]) == 1


def test_broker_appends_every_resend_of_a_plain_producer() -> None:
    broker = Broker(World(0), 1)
    for _ in range(3):
        broker.produce(Batch("M1", AMOUNT, 0, NO_PRODUCER, NO_PRODUCER, NO_PRODUCER), 1)
    assert [r.message_id for r in broker.log[0]] == ["M1", "M1", "M1"]


def test_pipeline_events_round_trip_through_json(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    cfg = PipelineConfig(
        messages=4, consumer="naive", lost_ack=0.3, crash_before_commit=0.3, zombie=0.3, seed=5
    )
    run(str(tmp_path / "bank.db"), cfg, trace=str(trace))
    lines = trace.read_text().splitlines()
    kinds = {json.loads(line)["kind"] for line in lines}
    assert {"produce_sent", "appended", "fetched", "charged", "offset_committed"} <= kinds
    for line in lines:
        assert from_dict(json.loads(line)).to_json() == line
    assert len({cls.kind for cls in PIPELINE_EVENT_TYPES}) == len(PIPELINE_EVENT_TYPES)


def test_same_seed_same_trace_byte_for_byte(tmp_path: Path) -> None:
    def config(seed: int) -> PipelineConfig:
        return PipelineConfig(
            seed=seed, messages=12, partitions=2, lost_ack=0.3, crash_before_commit=0.2, zombie=0.1
        )

    traces = []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        trace = tmp_path / f"{name}.jsonl"
        run(str(tmp_path / f"{name}.db"), config(seed), trace=str(trace))
        traces.append(trace.read_bytes())
    assert traces[0] == traces[1]
    assert traces[0] != traces[2]  # the seed does drive the faults


# -- faults, end to end ----------------------------------------------------------------------------
def test_a_lost_ack_is_resent_and_dropped_by_the_broker(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    result = run(db, PipelineConfig(messages=3), lambda p: p.lose_next_acks(1))
    c = result.report.counts
    assert (c["acks_lost"], c["resends"], c["duplicates_dropped"], c["appended"]) == (1, 1, 1, 3)
    assert charges_per_message(db) == {"M1": 1, "M2": 1, "M3": 1}


def test_without_idempotence_a_lost_ack_puts_a_duplicate_in_the_log(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    cfg = PipelineConfig(messages=3, producer_idempotent=False, consumer="naive")
    result = run(db, cfg, lambda p: p.lose_next_acks(1))
    assert result.report.duplicate_appends == ["M1 x2"]
    assert charges_per_message(db)["M1"] == 2  # the naive consumer charges the log's duplicate too


def test_a_crash_before_commit_redelivers_naive_charges_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    result = run(db, PipelineConfig(messages=2, consumer="naive"), lambda p: p.crash_before_next_commits(1))
    assert charges_per_message(db) == {"M1": 2, "M2": 1}
    assert result.report.double_charged == ["M1 x2"]
    assert rows(db, "SELECT attempt, outcome FROM deliveries WHERE txn_id = 'M1' ORDER BY id") == [
        (1, "processed"),
        (2, "processed"),
    ]
    assert not result.report.ok


def test_a_crash_before_commit_redelivers_idempotent_skips(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    result = run(
        db, PipelineConfig(messages=2, consumer="idempotent"), lambda p: p.crash_before_next_commits(1)
    )
    assert charges_per_message(db) == {"M1": 1, "M2": 1}
    assert (result.report.counts["redeliveries"], result.report.counts["skipped"]) == (1, 1)
    assert rows(db, "SELECT attempt, outcome FROM deliveries WHERE txn_id = 'M1' ORDER BY id") == [
        (1, "processed"),
        (2, "replayed"),
    ]


def test_a_transactional_crash_leaves_nothing_to_skip(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    result = run(
        db, PipelineConfig(messages=2, consumer="transactional"), lambda p: p.crash_before_next_commits(1)
    )
    assert charges_per_message(db) == {"M1": 1, "M2": 1}
    # The crash rolled back charge and offset together: the re-read is the first charge.
    assert rows(db, "SELECT attempt, outcome FROM deliveries WHERE txn_id = 'M1' ORDER BY id") == [
        (2, "processed")
    ]
    assert result.report.counts["skipped"] == 0
    assert rows(db, "SELECT partition, next_offset, epoch FROM consumer_offsets") == [(0, 2, 2)]


def _zombie_run(db: str, mode: ConsumerMode) -> tuple[list[Event], list[str], list[str], Pipeline]:
    """One message; the first member freezes before committing. Dumps the database either side
    of the moment the zombie wakes (nothing else happens then)."""

    async def go() -> tuple[list[Event], list[str], list[str], Pipeline]:
        p = await Pipeline.open(
            PipelineConfig(messages=1, consumer=mode), StoreConfig(db, opening_balance=OPENING)
        )
        events: list[Event] = []
        p.subscribe(events.append)
        p.stall_next_consumers(1)
        p.start()
        await p.advance_to(1_000)
        stalled = [e for e in events if isinstance(e, ConsumerStalled)]
        assert len(stalled) == 1
        await p.advance_to(stalled[0].until - 1)
        before = await p.bank.run(dump)
        await p.advance_to(stalled[0].until)
        after = await p.bank.run(dump)
        await p.run_until_idle()
        await p.close()
        return events, before, after, p

    return asyncio.run(go())


def test_a_zombie_commit_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    events, before, after, _ = _zombie_run(db, "idempotent")
    refused = [e for e in events if isinstance(e, CommitRefused)]
    assert [(e.txn_id, e.epoch, e.current_epoch) for e in refused] == [("M1", 1, 2)]
    assert after == before
    assert charges_per_message(db) == {"M1": 1}
    assert rows(db, "SELECT partition, next_offset, epoch FROM consumer_offsets") == [(0, 1, 2)]


def test_a_naive_zombie_double_charges_even_though_its_commit_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    events, before, after, _ = _zombie_run(db, "naive")
    assert any(isinstance(e, CommitRefused) for e in events)
    assert after == before
    assert charges_per_message(db) == {"M1": 2}


def test_a_transactional_zombie_writes_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    events, before, after, _ = _zombie_run(db, "transactional")
    assert [(e.epoch, e.current_epoch) for e in events if isinstance(e, CommitRefused)] == [(1, 2)]
    assert after == before
    assert charges_per_message(db) == {"M1": 1}


def test_a_restarted_producer_gets_a_new_epoch_and_the_old_one_is_fenced(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")

    async def go() -> list[Event]:
        p = await Pipeline.open(PipelineConfig(messages=4), StoreConfig(db, opening_balance=OPENING))
        events: list[Event] = []
        p.subscribe(events.append)
        p.start()
        await p.advance_to(250)
        p.restart_producer()
        await p.run_until_idle()
        # The old instance's late send: the broker refuses its epoch.
        old = Batch("M99", AMOUNT, 0, p.producer.producer_id, p.producer.epoch - 1, 0)
        assert p.broker.produce(old, 1).status == "fenced"
        await p.close()
        return events

    events = asyncio.run(go())
    started = [(e.producer_id, e.epoch) for e in events if isinstance(e, ProducerStarted)]
    assert started == [(1000, 0), (1000, 1)]
    assert charges_per_message(db) == {"M1": 1, "M2": 1, "M3": 1, "M4": 1}


def test_a_reused_database_gets_new_message_ids(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    run(db, PipelineConfig(messages=3))
    second = run(db, PipelineConfig(messages=2))
    assert second.report.ok
    assert charges_per_message(db) == {"M1": 1, "M2": 1, "M3": 1, "M4": 1, "M5": 1}
    assert rows(db, "SELECT balance FROM accounts") == [(OPENING - 5 * AMOUNT,)]


# -- exactly once, over lost acks and crash schedules -------------------------------------------------
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.integers(1, 6),
    partitions=st.integers(1, 3),
    producer_idempotent=st.booleans(),
    consumer=st.sampled_from(["idempotent", "transactional"]),
    lost_acks=st.lists(st.booleans(), max_size=24),
    crashes=st.lists(st.booleans(), max_size=12),
    zombies=st.lists(st.booleans(), max_size=4),
)
def test_each_message_is_charged_exactly_once(
    messages: int,
    partitions: int,
    producer_idempotent: bool,
    consumer: ConsumerMode,
    lost_acks: list[bool],
    crashes: list[bool],
    zombies: list[bool],
) -> None:
    def script(p: Pipeline) -> None:
        p.faults["lost_ack"].script = list(lost_acks)
        p.faults["crash"].script = list(crashes)
        p.faults["zombie"].script = list(zombies)

    cfg = PipelineConfig(
        messages=messages, partitions=partitions, producer_idempotent=producer_idempotent, consumer=consumer
    )
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "bank.db")
        result = run(db, cfg, script)
        ids = [f"M{n}" for n in range(1, messages + 1)]
        assert charges_per_message(db) == dict.fromkeys(ids, 1)
        assert rows(db, "SELECT balance FROM accounts") == [(OPENING - messages * AMOUNT,)]
        in_log = Counter(r.message_id for part in result.log for r in part)
        assert set(in_log) == set(ids)
        if producer_idempotent:
            assert all(n == 1 for n in in_log.values()), in_log
        committed = {p: n for p, n in rows(db, "SELECT partition, next_offset FROM consumer_offsets")}
        assert committed == {p: len(part) for p, part in enumerate(result.log) if part}
        assert result.report.ok, result.report.to_dict()["invariants"]


def test_the_aiosqlite_bridge_gives_the_same_trace(tmp_path: Path) -> None:
    """The app runs transactions on aiosqlite's thread; a crash raised inside one still rolls back."""
    cfg = dict(
        seed=4, messages=10, consumer="transactional", lost_ack=0.3, crash_before_commit=0.3, zombie=0.2
    )
    traces = []
    for bridge in ("inline", "aiosqlite"):
        trace = tmp_path / f"{bridge}.jsonl"
        db = str(tmp_path / f"{bridge}.db")
        result = asyncio.run(
            simulate_pipeline(
                PipelineConfig(**cfg),  # type: ignore[arg-type]
                StoreConfig(db, opening_balance=OPENING),
                trace=str(trace),
                bridge=bridge,
            )
        )
        assert result.report.ok and result.report.counts["consumer_crashes"] > 0
        traces.append(trace.read_bytes())
    assert traces[0] == traces[1]


def test_the_view_shows_the_log_the_consumer_and_what_is_in_flight(tmp_path: Path) -> None:
    """What a pipeline pane renders, at a few moments of a run with a `k` press (crash_consumer)."""
    db = str(tmp_path / "bank.db")

    async def go() -> None:
        p = await Pipeline.open(
            PipelineConfig(messages=3, consumer="naive"), StoreConfig(db, opening_balance=OPENING)
        )
        p.start()
        await p.advance_to(10)
        v = p.view()
        assert v.in_flight == [("M1", 0, 1)] and v.log == [[]]
        assert (v.consumer_state, v.epoch, v.positions, v.committed) == ("idle", 1, [0], [0])
        await p.advance_to(160)  # M1 appended at 50, fetched at 100, charged at 200, committed at 250
        v = p.view()
        assert [r.message_id for r in v.log[0]] == ["M1"] and v.in_flight == []
        assert v.in_hand is not None and v.in_hand.message_id == "M1"
        assert (v.consumer_state, v.positions, v.committed) == ("reading", [1], [0])
        await p.advance_to(220)  # charged, not yet committed: the `k` key lands in the gap
        assert p.crash_consumer()
        v = p.view()
        assert (v.consumer_state, v.epoch, v.positions, v.in_hand) == ("down", None, None, None)
        await p.run_until_idle()
        v = p.view()
        assert (v.consumer_state, v.epoch, v.positions, v.committed) == ("idle", 2, [3], [3])
        await p.close()

    asyncio.run(go())
    assert charges_per_message(db) == {"M1": 2, "M2": 1, "M3": 1}
