"""The bank as a service inside the engine: time to process, in progress, mismatch, crashes, reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from engine_helpers import query

from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import AtmConfig, BankTiming, LinkConfig, SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import (
    Answered,
    Crashed,
    Dropped,
    Event,
    Finished,
    InProgress,
    KeyExpired,
    Recovered,
    Rejected,
    Replayed,
    Resolved,
)
from atm_tui.sim.report import check_database

E = TypeVar("E", bound=Event)
ACCOUNT = "A-1001"


class Run:
    """An engine on a real file with a recorded trace."""

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine
        self.path = path
        self.events: list[Event] = []
        engine.world.subscribe(self.events.append)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def outcomes(self) -> list[tuple[str, str]]:
        return [(e.txn_id, e.outcome) for e in self.of(Finished)]

    def q(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return query(self.path, sql, *params)

    def invariants(self) -> dict[str, bool]:
        conn = sqlite3.connect(self.path)
        try:
            return {i.name: i.ok for i in check_database(conn, ACCOUNT)[3]}
        finally:
            conn.close()


def steady(mode: str = "idempotent", **bank: int) -> SimConfig:
    """No jitter, no random faults: the timeline is exact."""
    return SimConfig(
        seed=1,
        mode=mode,  # type: ignore[arg-type]
        request=LinkConfig(latency=500, jitter=0),
        reply=LinkConfig(latency=500, jitter=0),
        atm=AtmConfig(timeout=3000, retry="fixed", fixed_delay=1000, max_attempts=3),
        bank=BankTiming(**bank),
    )


RunFactory = Callable[..., Any]


@pytest.fixture
async def make_run(tmp_path: Path) -> AsyncIterator[RunFactory]:
    opened: list[Engine] = []

    async def make(config: SimConfig, opening: int = 50_000, name: str = "bank.db") -> Run:
        path = str(tmp_path / name)
        engine = await Engine.open(config, StoreConfig(path, opening_balance=opening))
        opened.append(engine)
        return Run(engine, path)

    yield make
    for engine in opened:
        await engine.close()


async def test_processing_longer_than_the_timeout_answers_in_progress(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(processing=5000))
    seen_while_in_progress: list[tuple[Any, ...]] = []

    def look(ev: Event) -> None:
        if isinstance(ev, InProgress):
            stored = run.q("SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM idempotency_keys)")
            seen_while_in_progress.append((ev.attempt, *stored[0]))

    run.engine.world.subscribe(look)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    # Attempt 1 arrives at 500 and is processed until 5500; attempt 2 arrives at 4500 meanwhile.
    assert seen_while_in_progress and seen_while_in_progress[0] == (2, 0, 0)
    assert run.q("SELECT attempt, outcome, at FROM deliveries ORDER BY id")[:2] == [
        (2, "in_progress", 4500), (1, "processed", 5500),
    ]  # fmt: skip
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]
    in_progress = len(run.of(InProgress))
    assert run.q("SELECT count(*) FROM deliveries WHERE outcome = 'in_progress'") == [(in_progress,)]
    # An in-progress answer is not a replay: the key's hit count ignores it.
    replays = len(run.of(Replayed))
    assert run.q("SELECT hits FROM idempotency_keys") == [(1 + replays,)]
    assert run.outcomes() == [("T123", "dispensed")]
    assert run.q("SELECT balance FROM accounts") == [(45_000,)]


async def test_in_flight_key_with_a_different_amount_is_rejected(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(processing=2000))
    run.engine.withdraw(5000)
    await run.engine.wait(600)  # T123 is being processed
    run.engine.withdraw(9000, txn_id="T123")
    await run.engine.run_until_idle()
    assert [e.attempt for e in run.of(Rejected)] == [1]
    assert run.q("SELECT amount FROM ledger") == [(5000,)]
    assert ("rejected",) in run.q("SELECT outcome FROM deliveries")
    assert json.loads(run.q("SELECT response FROM idempotency_keys")[0][0])["amount"] == 5000


async def test_stored_key_with_a_different_amount_is_rejected(make_run: RunFactory) -> None:
    run: Run = await make_run(steady())
    run.engine.withdraw(5000)
    await run.engine.run_until_idle()
    run.engine.withdraw(9000, txn_id="T123")
    await run.engine.run_until_idle()
    assert run.outcomes() == [("T123", "dispensed"), ("T123", "rejected")]
    assert run.q("SELECT count(*), sum(amount) FROM ledger") == [(1, 5000)]
    assert run.q("SELECT balance FROM accounts") == [(45_000,)]


async def test_naive_mode_has_no_in_progress_and_debits_each_delivery(make_run: RunFactory) -> None:
    run: Run = await make_run(steady("naive", processing=5000))
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert run.of(InProgress) == []
    deliveries = run.q("SELECT count(*) FROM deliveries")[0][0]
    assert deliveries >= 2
    assert run.q("SELECT count(*) FROM ledger") == [(deliveries,)]
    assert run.invariants()["one_ledger_row_per_key"] is False


async def test_split_crash_in_the_gap_then_the_retry_debits_again(make_run: RunFactory) -> None:
    run: Run = await make_run(steady("split"))
    run.engine.crash_in_gap(1)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert [e.txn_id for e in run.of(Crashed)] == ["T123"]
    assert len(run.of(Recovered)) == 1
    assert run.q("SELECT txn_id FROM ledger ORDER BY id") == [("T123",), ("T123",)]
    assert run.q("SELECT balance FROM accounts") == [(40_000,)]
    assert run.invariants() == {"one_ledger_row_per_key": False, "balance_matches_ledger": True}


async def test_idempotent_mode_has_no_gap_to_crash_in(make_run: RunFactory) -> None:
    run: Run = await make_run(steady("idempotent"))
    run.engine.crash_in_gap(1)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert run.of(Crashed) == []
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]


async def test_a_crashed_bank_drops_requests_until_it_recovers(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(processing=1000, restart=2000))
    run.engine.withdraw()
    await run.engine.wait(700)  # delivered at 500, still processing
    run.engine.crash_bank()
    await run.engine.run_until_idle()
    assert [e.where for e in run.of(Crashed)] == ["on request"]
    # The work in flight died with the process: the first attempt never committed.
    assert ("T123", 1, "processed") not in run.q("SELECT txn_id, attempt, outcome FROM deliveries")
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]
    assert run.outcomes() == [("T123", "dispensed")]


async def test_status_query_turns_unknown_into_the_truth(make_run: RunFactory) -> None:
    run: Run = await make_run(steady())
    run.engine.set_drop_all_replies(True)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert run.outcomes() == [("T123", "unknown")]
    run.engine.set_drop_all_replies(False)
    run.engine.status_query("T123")
    await run.engine.run_until_idle()
    assert [(e.txn_id, e.truth) for e in run.of(Resolved)] == [("T123", "debited")]
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]


async def test_status_query_says_not_debited_when_no_request_arrived(make_run: RunFactory) -> None:
    run: Run = await make_run(steady())
    run.engine.drop_next_requests(3)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert run.outcomes() == [("T123", "unknown")]
    assert run.q("SELECT count(*) FROM deliveries") == [(0,)]
    run.engine.status_query()
    await run.engine.run_until_idle()
    assert [e.truth for e in run.of(Resolved)] == ["not debited"]
    # Asking stored nothing.
    assert run.q("SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM idempotency_keys)") == [(0, 0)]


async def test_retry_now_after_unknown_is_replayed_not_debited_again(make_run: RunFactory) -> None:
    run: Run = await make_run(steady())
    run.engine.set_drop_all_replies(True)
    run.engine.withdraw()
    await run.engine.run_until_idle()
    run.engine.set_drop_all_replies(False)
    assert run.engine.retry_now() is True
    await run.engine.run_until_idle()
    assert run.outcomes() == [("T123", "unknown"), ("T123", "dispensed")]
    assert run.q("SELECT attempt, outcome FROM deliveries ORDER BY id") == [
        (1, "processed"), (2, "replayed"), (3, "replayed"), (4, "replayed"),
    ]  # fmt: skip
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]
    assert run.q("SELECT hits FROM idempotency_keys") == [(4,)]


async def test_decline_is_replayed_through_the_network(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(), opening=3_000)
    run.engine.drop_next_replies(1)
    run.engine.withdraw(5000)
    await run.engine.run_until_idle()
    assert run.outcomes() == [("T123", "declined")]
    replays = run.of(Replayed)
    assert len(replays) == 1
    assert json.loads(replays[0].body)["reason"] == "insufficient funds"
    assert run.q("SELECT response FROM idempotency_keys") == [(replays[0].body,)]
    assert run.q("SELECT count(*) FROM ledger") == [(0,)]
    assert run.q("SELECT balance FROM accounts") == [(3_000,)]


async def test_expired_key_is_processed_again(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(ttl=10_000))
    run.engine.withdraw()
    await run.engine.run_until_idle()
    await run.engine.wait(10_000)
    run.engine.withdraw(txn_id="T123")  # the same id comes back after the retention window
    await run.engine.run_until_idle()
    assert [e.txn_id for e in run.of(KeyExpired)] == ["T123"]
    assert run.q("SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(2,)]
    assert run.q("SELECT balance FROM accounts") == [(40_000,)]


async def test_same_id_within_the_ttl_is_replayed(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(ttl=10_000))
    run.engine.withdraw()
    await run.engine.run_until_idle()
    run.engine.withdraw(txn_id="T123")
    await run.engine.run_until_idle()
    assert run.of(KeyExpired) == []
    assert run.q("SELECT count(*) FROM ledger") == [(1,)]


async def test_balance_inquiry_is_answered_and_changes_nothing(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(), opening=12_300)
    run.engine.balance_inquiry()
    run.engine.balance_inquiry()
    await run.engine.run_until_idle()
    bodies = [json.loads(e.body) for e in run.of(Answered)]
    assert bodies == [{"account": ACCOUNT, "balance": 12_300}] * 2
    assert run.q("SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM idempotency_keys)") == [(0, 0)]


async def test_bank_down_drops_with_a_cause(make_run: RunFactory) -> None:
    run: Run = await make_run(steady(restart=5000))
    run.engine.crash_bank()
    run.engine.withdraw()
    await run.engine.run_until_idle()
    assert "bank-down" in [e.cause for e in run.of(Dropped)]
