"""The invariant checker on databases built by hand: it passes a clean bank and catches each fault."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.sim.events import Dropped, Finished, Processed, Replayed, Requested, Sent
from atm_tui.sim.report import Invariant, Report, Tally, check_database

ACCOUNT = "A-1001"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_sync(StoreConfig(str(tmp_path / "bank.db")))
    try:
        yield c
    finally:
        c.close()


def debit(conn: sqlite3.Connection, txn: str, amount: int, body: str = "{}") -> None:
    balance = conn.execute("SELECT balance FROM accounts").fetchone()[0] - amount
    conn.execute("UPDATE accounts SET balance = ?", (balance,))
    conn.execute(
        "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at) VALUES (?, ?, ?, ?, 0)",
        (txn, ACCOUNT, amount, balance),
    )
    conn.execute(
        "INSERT OR IGNORE INTO idempotency_keys (account_id, key, fingerprint, status, response, hits,"
        " first_seen, last_seen, expires_at) VALUES (?, ?, 'f', 'approved', ?, 1, 0, 0, 99)",
        (ACCOUNT, txn, body),
    )


def verdict(checks: list[Invariant]) -> dict[str, bool]:
    return {c.name: c.ok for c in checks}


def test_a_clean_bank_passes(conn: sqlite3.Connection) -> None:
    debit(conn, "T123", 5000, '{"a":1}')
    debit(conn, "T124", 2000, '{"a":2}')
    opening, balance, rows, checks = check_database(
        conn, ACCOUNT, ["T123", "T124"], {"T123": '{"a":1}', "T124": '{"a":2}'}, []
    )
    assert (opening, balance, rows) == (50_000, 43_000, 2)
    assert verdict(checks) == {
        "one_ledger_row_per_key": True, "balance_matches_ledger": True,
        "dispensed_have_ledger_rows": True, "replays_byte_identical": True,
    }  # fmt: skip
    assert all(c.detail == "" for c in checks)


def test_without_a_trace_only_the_database_checks_run(conn: sqlite3.Connection) -> None:
    names = [c.name for c in check_database(conn, ACCOUNT)[3]]
    assert names == ["one_ledger_row_per_key", "balance_matches_ledger"]


def test_flags_a_double_debit(conn: sqlite3.Connection) -> None:
    debit(conn, "T123", 5000)
    debit(conn, "T124", 5000)
    debit(conn, "T123", 5000)
    checks = check_database(conn, ACCOUNT)[3]
    assert verdict(checks) == {"one_ledger_row_per_key": False, "balance_matches_ledger": True}
    assert checks[0].detail == "debited more than once: T123 x2"


def test_flags_a_balance_that_disagrees_with_the_ledger(conn: sqlite3.Connection) -> None:
    debit(conn, "T123", 5000)
    conn.execute("UPDATE accounts SET balance = balance - 100")  # money gone with no ledger row
    checks = check_database(conn, ACCOUNT)[3]
    assert verdict(checks) == {"one_ledger_row_per_key": True, "balance_matches_ledger": False}
    assert "5100" in checks[1].detail and "5000" in checks[1].detail


def test_flags_cash_dispensed_without_a_ledger_row(conn: sqlite3.Connection) -> None:
    debit(conn, "T123", 5000)
    checks = check_database(conn, ACCOUNT, dispensed=["T123", "T999"])[3]
    assert verdict(checks)["dispensed_have_ledger_rows"] is False
    assert "T999" in checks[2].detail and "T123" not in checks[2].detail


def test_flags_a_replay_that_differs_from_the_stored_response(conn: sqlite3.Connection) -> None:
    debit(conn, "T123", 5000, '{"balance_after":45000}')
    ok = check_database(conn, ACCOUNT, expected_bodies={"T123": '{"balance_after":45000}'})[3]
    assert verdict(ok)["replays_byte_identical"] is True
    # One byte different (a space) is a different response.
    bad = check_database(conn, ACCOUNT, expected_bodies={"T123": '{"balance_after": 45000}'})[3]
    assert verdict(bad)["replays_byte_identical"] is False
    from_trace = check_database(conn, ACCOUNT, expected_bodies={}, replay_mismatches=["T7"])[3]
    assert verdict(from_trace)["replays_byte_identical"] is False


def test_tally_counts_and_catches_a_replay_mismatch() -> None:
    tally = Tally()
    for ev in (
        Requested(0, "T123", 0, "withdraw", 5000),
        Sent(0, "T123", 1, "withdraw", 5000),
        Sent(0, "B1", 1, "balance", 0),
        Processed(1, "T123", 1, 5000, 45000, '{"x":1}'),
        Dropped(2, "T123", 1, "reply", "forced"),
        Replayed(3, "T123", 2, 2, '{"x":1}'),
        Replayed(4, "T123", 3, 3, '{"x":2}'),
        Finished(5, "T123", 3, "dispensed"),
    ):
        tally(ev)
    c = tally.counts
    counted = (c["withdrawals"], c["attempts"], c["processed"], c["replayed"], c["replies_dropped"])
    assert counted == (1, 1, 1, 2, 1)
    assert c["dispensed"] == 1 and tally.dispensed == ["T123"]
    assert tally.replay_mismatches == ["T123"]
    assert tally.expected_bodies == {"T123": '{"x":1}'}


def test_report_is_ok_only_if_every_invariant_holds() -> None:
    good = Report({}, 1, 1, 1, 0, [Invariant("a", True), Invariant("b", True)])
    bad = Report({}, 1, 1, 1, 0, [Invariant("a", True), Invariant("b", False, "why")])
    assert good.ok and not bad.ok
    assert bad.to_dict()["ok"] is False
    assert bad.to_dict()["invariants"]["b"] == {"ok": False, "detail": "why"}
