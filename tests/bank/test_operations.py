"""The generic idempotent handler on a real SQLite file: every branch, asserted on the tables."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atm_tui.bank import operations as ops
from atm_tui.bank.core import BankCrash
from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.sim.atm.config import AtmConfig, BankTiming, LinkConfig, SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Event, InProgress, Rejected

ACCOUNT = "A-1001"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_sync(StoreConfig(str(tmp_path / "bank.db"), opening_balance=1_000))


def pay(label: str, amount: int, *, keyless: bool = False, attempt: int = 1) -> ops.Operation:
    return ops.build("payment", ACCOUNT, label, {"amount": amount}, keyless=keyless, attempt=attempt)


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(sql)]


def test_payment_processed_then_replayed_verbatim(conn: sqlite3.Connection) -> None:
    first = ops.handle(conn, pay("pay_xyz", 100), 10)
    again = ops.handle(conn, pay("pay_xyz", 100, attempt=2), 20)
    assert (first.outcome, first.status, first.replayed) == ("processed", "approved", False)
    assert (again.outcome, again.replayed, again.hits) == ("replayed", True, 2)
    assert again.body == first.body
    assert json.loads(first.body)["charge_id"] == "ch_1"
    assert rows(conn, "SELECT key, amount, keyed FROM payments") == [("pay_xyz", 100, 1)]
    assert rows(conn, "SELECT txn_id, operation, amount, balance_after FROM ledger") == [
        ("pay_xyz", "payment", 100, 900)
    ]
    assert rows(conn, "SELECT txn_id, attempt, outcome FROM deliveries") == [
        ("pay_xyz", 1, "processed"),
        ("pay_xyz", 2, "replayed"),
    ]
    assert rows(conn, "SELECT hits, last_seen FROM idempotency_keys") == [(2, 20)]


def test_mismatch_rejected_and_nothing_changes(conn: sqlite3.Connection) -> None:
    ops.handle(conn, pay("pay_xyz", 100), 10)
    resp = ops.handle(conn, pay("pay_xyz", 200), 20)
    assert (resp.outcome, resp.status) == ("rejected", "rejected")
    assert conn.execute("SELECT balance FROM accounts").fetchone()[0] == 900
    assert rows(conn, "SELECT hits FROM idempotency_keys") == [(1,)]


def test_same_key_for_another_operation_is_a_mismatch(conn: sqlite3.Connection) -> None:
    ops.handle(conn, pay("k1", 100), 10)
    resp = ops.handle(conn, ops.build("order", ACCOUNT, "k1", {"item": "pen", "quantity": 1}), 20)
    assert resp.outcome == "rejected"
    assert rows(conn, "SELECT count(*) FROM orders") == [(0,)]


def test_keyless_runs_the_effect_every_time(conn: sqlite3.Connection) -> None:
    for attempt in (1, 2):
        assert ops.handle(conn, pay("p", 100, keyless=True, attempt=attempt), attempt).outcome == "processed"
    assert rows(conn, "SELECT key, keyed FROM payments") == [("p", 0), ("p", 0)]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    assert conn.execute("SELECT balance FROM accounts").fetchone()[0] == 800


def test_naive_mode_ignores_keys(conn: sqlite3.Connection) -> None:
    for t in (1, 2):
        ops.handle(
            conn, ops.build("vote", ACCOUNT, "voter-9", {"voter": "9", "choice": "x"}), t, mode="naive"
        )
    assert rows(conn, "SELECT voter_id, choice FROM ballots") == [("9", "x"), ("9", "x")]


def test_decline_is_stored_and_replayed(conn: sqlite3.Connection) -> None:
    first = ops.handle(conn, pay("big", 5_000), 1)
    again = ops.handle(conn, pay("big", 5_000), 2)
    assert (first.outcome, first.status) == ("declined", "declined")
    assert (again.outcome, again.status, again.body) == ("replayed", "declined", first.body)
    assert rows(conn, "SELECT count(*) FROM ledger") == [(0,)]


def test_expired_key_is_processed_again(conn: sqlite3.Connection) -> None:
    ops.handle(conn, pay("p", 100), 0, ttl=50)
    assert ops.handle(conn, pay("p", 100), 49, ttl=50).outcome == "replayed"
    resp = ops.handle(conn, pay("p", 100), 50, ttl=50)
    assert (resp.outcome, resp.expired_key) == ("processed", True)
    assert rows(conn, "SELECT count(*) FROM payments") == [(2,)]


def test_split_mode_crash_in_the_gap_keeps_the_effect_loses_the_key(conn: sqlite3.Connection) -> None:
    def crash(label: str) -> None:
        raise BankCrash(label)

    with pytest.raises(BankCrash):
        ops.handle(conn, pay("p", 100), 1, mode="split", gap_hook=crash)
    assert not conn.in_transaction
    assert rows(conn, "SELECT count(*) FROM payments") == [(1,)]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    # The retry finds no key and charges again: the window the single transaction closes.
    assert ops.handle(conn, pay("p", 100), 2, mode="split").outcome == "processed"
    assert rows(conn, "SELECT count(*) FROM payments") == [(2,)]


def test_idempotent_mode_has_no_gap(conn: sqlite3.Connection) -> None:
    def crash(label: str) -> None:
        raise BankCrash(label)

    assert ops.handle(conn, pay("p", 100), 1, gap_hook=crash).outcome == "processed"
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(1,)]


def test_an_effect_that_fails_rolls_everything_back(conn: sqlite3.Connection) -> None:
    def broken(c: sqlite3.Connection, now: int) -> tuple[str, str, int | None]:
        c.execute(
            "INSERT INTO orders (order_id, account_id, item, quantity, at) VALUES ('o', ?, 'x', 1, 0)",
            (ACCOUNT,),
        )
        raise RuntimeError("disk on fire")

    op = ops.Operation("order", ACCOUNT, "o", "o", "fp", broken)
    with pytest.raises(RuntimeError):
        ops.handle(conn, op, 1)
    assert rows(conn, "SELECT count(*) FROM orders") == [(0,)]
    assert rows(conn, "SELECT count(*) FROM deliveries") == [(0,)]


def test_unknown_operation() -> None:
    with pytest.raises(ValueError, match="operation 'refund'"):
        ops.build("refund", ACCOUNT, "r", {})


async def test_engine_in_flight_payment_and_rejected_vote(tmp_path: Path) -> None:
    """Through the network and the server: a retry during processing is told in progress."""
    config = SimConfig(
        seed=1,
        request=LinkConfig(latency=100, jitter=0),
        reply=LinkConfig(latency=100, jitter=0),
        atm=AtmConfig(timeout=500, retry="fixed", fixed_delay=100, max_attempts=3),
        bank=BankTiming(processing=2_000),
    )
    engine = await Engine.open(config, StoreConfig(str(tmp_path / "e.db"), fresh=True), resume=False)
    events: list[Event] = []
    engine.world.subscribe(events.append)
    try:
        engine.payment(100, "pay_slow")
        await engine.run_until_idle()
        engine.vote("7", "yes")
        engine.vote("7", "no")  # same voter, other ballot, while the first is in flight
        await engine.run_until_idle()
    finally:
        await engine.close()
    conn = sqlite3.connect(tmp_path / "e.db")
    outcomes = [r[0] for r in conn.execute("SELECT outcome FROM deliveries WHERE txn_id = 'pay_slow'")]
    assert outcomes.count("processed") == 1 and "in_progress" in outcomes
    assert any(isinstance(ev, InProgress) and ev.txn_id == "pay_slow" for ev in events)
    assert rows(conn, "SELECT voter_id, choice FROM ballots") == [("7", "yes")]
    assert any(isinstance(ev, Rejected) and ev.txn_id == "voter-7" for ev in events)
    assert rows(conn, "SELECT count(*) FROM payments") == [(1,)]
