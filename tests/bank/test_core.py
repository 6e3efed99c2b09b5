"""The bank's transactions, checked against the SQLite file itself."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atm_tui.bank import core
from atm_tui.bank.core import BankCrash, Withdrawal
from atm_tui.bank.store import StoreConfig, open_sync

ACCOUNT = "A-1001"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_sync(StoreConfig(str(tmp_path / "bank.db")))
    try:
        yield c
    finally:
        c.close()


def w(attempt: int = 1, amount: int = 5000, txn: str = "T123") -> Withdrawal:
    return Withdrawal(txn, ACCOUNT, amount, attempt)


def rows(conn: sqlite3.Connection, sql: str, *params: object) -> list[tuple[object, ...]]:
    return list(conn.execute(sql, params))


def balance(conn: sqlite3.Connection) -> int:
    return core.read_balance(conn, ACCOUNT)


def test_idempotent_replays_the_stored_body_byte_for_byte(conn: sqlite3.Connection) -> None:
    first = core.withdraw(conn, w(1), 100)
    assert (first.outcome, first.status, first.replayed) == (core.PROCESSED, "approved", False)
    assert json.loads(first.body) == {
        "account": ACCOUNT, "amount": 5000, "balance_after": 45000, "status": "approved", "txn_id": "T123",
    }  # fmt: skip
    second = core.withdraw(conn, w(2), 200)
    third = core.withdraw(conn, w(3), 300)
    for again, hits in ((second, 2), (third, 3)):
        assert again.outcome == core.REPLAYED
        assert again.replayed is True
        assert again.body.encode() == first.body.encode()
        assert again.hits == hits
    assert balance(conn) == 45_000
    assert rows(conn, "SELECT txn_id, amount, balance_after, at FROM ledger") == [("T123", 5000, 45000, 100)]
    assert rows(conn, "SELECT response, hits, first_seen, last_seen, status FROM idempotency_keys") == [
        (first.body, 3, 100, 300, "approved")
    ]
    assert rows(conn, "SELECT txn_id, attempt, outcome, at FROM deliveries ORDER BY id") == [
        ("T123", 1, "processed", 100), ("T123", 2, "replayed", 200), ("T123", 3, "replayed", 300),
    ]  # fmt: skip


def test_naive_debits_every_delivery(conn: sqlite3.Connection) -> None:
    for attempt in (1, 2, 3):
        resp = core.withdraw(conn, w(attempt), attempt * 100, mode="naive")
        assert resp.outcome == core.PROCESSED and not resp.replayed
    assert balance(conn) == 35_000
    assert rows(conn, "SELECT txn_id, balance_after FROM ledger ORDER BY id") == [
        ("T123", 45000), ("T123", 40000), ("T123", 35000),
    ]  # fmt: skip
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    assert rows(conn, "SELECT count(*) FROM deliveries WHERE outcome = 'processed'") == [(3,)]


def test_split_without_a_crash_behaves_like_idempotent(conn: sqlite3.Connection) -> None:
    gaps: list[str] = []
    first = core.withdraw(conn, w(1), 100, mode="split", gap_hook=gaps.append)
    again = core.withdraw(conn, w(2), 200, mode="split", gap_hook=gaps.append)
    assert gaps == ["T123"]  # the gap is passed once: the replay never reaches it
    assert again.replayed and again.body == first.body
    assert balance(conn) == 45_000
    assert rows(conn, "SELECT count(*) FROM ledger") == [(1,)]


def test_split_crash_in_the_gap_leaves_a_debit_without_a_key(conn: sqlite3.Connection) -> None:
    def crash(txn_id: str) -> None:
        raise BankCrash(txn_id)

    with pytest.raises(BankCrash):
        core.withdraw(conn, w(1), 100, mode="split", gap_hook=crash)
    assert not conn.in_transaction
    assert rows(conn, "SELECT txn_id FROM ledger") == [("T123",)]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    # The retry finds no key, so the bank debits again: the double debit the lesson warns about.
    resp = core.withdraw(conn, w(2), 200, mode="split")
    assert resp.outcome == core.PROCESSED
    assert rows(conn, "SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(2,)]
    assert balance(conn) == 40_000


def test_idempotent_mode_has_no_gap(conn: sqlite3.Connection) -> None:
    def crash(txn_id: str) -> None:
        raise BankCrash(txn_id)

    resp = core.withdraw(conn, w(1), 100, mode="idempotent", gap_hook=crash)
    assert resp.outcome == core.PROCESSED
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(1,)]


def test_a_failure_inside_the_transaction_rolls_everything_back(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TRIGGER fail_delivery BEFORE INSERT ON deliveries"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        core.withdraw(conn, w(1), 100)
    assert not conn.in_transaction
    assert balance(conn) == 50_000
    assert rows(conn, "SELECT count(*) FROM ledger") == [(0,)]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]


def test_decline_is_stored_and_replayed_even_after_the_balance_changes(tmp_path: Path) -> None:
    conn = open_sync(StoreConfig(str(tmp_path / "bank.db"), opening_balance=3_000))
    try:
        first = core.withdraw(conn, w(1), 100)
        assert (first.outcome, first.status) == (core.DECLINED, "declined")
        assert json.loads(first.body)["reason"] == "insufficient funds"
        assert rows(conn, "SELECT count(*) FROM ledger") == [(0,)]
        assert rows(conn, "SELECT status, response FROM idempotency_keys") == [("declined", first.body)]
        # A deposit arrives; the retry of T123 still gets the stored decline, not a fresh debit.
        conn.execute("UPDATE accounts SET balance = 100000")
        again = core.withdraw(conn, w(2), 200)
        assert again.replayed and again.status == "declined" and again.body == first.body
        assert balance(conn) == 100_000
        assert rows(conn, "SELECT outcome FROM deliveries ORDER BY id") == [("declined",), ("replayed",)]
    finally:
        conn.close()


def test_same_key_different_amount_is_rejected_and_changes_nothing(conn: sqlite3.Connection) -> None:
    first = core.withdraw(conn, w(1, 5000), 100)
    bad = core.withdraw(conn, w(2, 9000), 200)
    assert (bad.outcome, bad.status, bad.replayed) == (core.REJECTED, "rejected", False)
    assert json.loads(bad.body)["status"] == "rejected"
    assert balance(conn) == 45_000
    assert rows(conn, "SELECT count(*) FROM ledger") == [(1,)]
    assert rows(conn, "SELECT response, hits, last_seen FROM idempotency_keys") == [(first.body, 1, 100)]
    assert rows(conn, "SELECT outcome FROM deliveries ORDER BY id") == [("processed",), ("rejected",)]
    # The right body still replays.
    assert core.withdraw(conn, w(3, 5000), 300).body == first.body


def test_same_key_other_account_is_a_different_fingerprint() -> None:
    assert Withdrawal("T1", "A", 100).fingerprint() != Withdrawal("T1", "B", 100).fingerprint()
    assert Withdrawal("T1", "A", 100).fingerprint() != Withdrawal("T1", "A", 200).fingerprint()
    assert Withdrawal("T1", "A", 100, 1).fingerprint() == Withdrawal("T9", "A", 100, 3).fingerprint()


def test_key_expiry_past_the_ttl_processes_the_key_again(conn: sqlite3.Connection) -> None:
    core.withdraw(conn, w(1), 0, ttl=1_000)
    assert rows(conn, "SELECT expires_at FROM idempotency_keys") == [(1_000,)]
    inside = core.withdraw(conn, w(2), 999, ttl=1_000)
    assert inside.replayed and not inside.expired_key
    past = core.withdraw(conn, w(3), 1_000, ttl=1_000)
    assert past.outcome == core.PROCESSED and past.expired_key and not past.replayed
    assert balance(conn) == 40_000
    assert rows(conn, "SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(2,)]
    # The key was stored afresh, with a new window.
    assert rows(conn, "SELECT hits, first_seen, expires_at FROM idempotency_keys") == [(1, 1_000, 2_000)]


def test_record_arrival_touches_only_deliveries(conn: sqlite3.Connection) -> None:
    core.record_arrival(conn, w(2), core.IN_PROGRESS, 50)
    assert rows(conn, "SELECT txn_id, attempt, outcome, at FROM deliveries") == [
        ("T123", 2, "in_progress", 50)
    ]
    assert rows(conn, "SELECT count(*) FROM ledger") == [(0,)]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    assert balance(conn) == 50_000


def test_read_status_is_a_read(conn: sqlite3.Connection) -> None:
    assert json.loads(core.read_status(conn, ACCOUNT, "T123")) == {
        "debits": 0, "debited": 0, "status": "not_found", "txn_id": "T123",
    }  # fmt: skip
    first = core.withdraw(conn, w(1), 100)
    before = conn.total_changes
    one = core.read_status(conn, ACCOUNT, "T123")
    two = core.read_status(conn, ACCOUNT, "T123")
    assert one == two
    assert conn.total_changes == before
    data = json.loads(one)
    assert (data["status"], data["debits"], data["debited"]) == ("approved", 1, 5000)
    assert data["response"] == json.loads(first.body)


def test_read_status_sees_a_debit_whose_key_was_lost(conn: sqlite3.Connection) -> None:
    def crash(txn_id: str) -> None:
        raise BankCrash(txn_id)

    with pytest.raises(BankCrash):
        core.withdraw(conn, w(1), 100, mode="split", gap_hook=crash)
    data = json.loads(core.read_status(conn, ACCOUNT, "T123"))
    assert (data["status"], data["debits"]) == ("approved", 1)


def test_canonical_is_one_spelling() -> None:
    assert core.canonical({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
