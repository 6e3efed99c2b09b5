"""Helpers for the engine tests: raw sqlite3 reads of the bank file and the CLI as a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from atm_tui.bank.core import Mode
from atm_tui.bank.schema import SCHEMA
from atm_tui.bank.service import Bank
from atm_tui.bank.store import DEFAULT_ACCOUNT, StoreConfig

ROOT = Path(__file__).resolve().parent.parent


def read_db(path: str) -> sqlite3.Connection:
    """A separate plain connection, as a teacher's sqlite3 shell would open the file."""
    return sqlite3.connect(path)


def query(path: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = read_db(path)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


async def open_bank(
    path: str, mode: Mode = "idempotent", ttl: int = 86_400_000, opening: int = 50_000
) -> Bank:
    return await Bank(StoreConfig(path, opening_balance=opening), mode=mode, ttl=ttl).open()


def run_cli(*args: str, timeout: float = 60, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    """`python -m atm_tui ...` in a real process, as a user or a script would run it."""
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run(
        [sys.executable, "-m", "atm_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


# -- the raw sqlite3 baseline of the benchmarks -------------------------------------------------
def raw_connect(db: Path, synchronous: str, opening: int) -> sqlite3.Connection:
    """The benchmarks' raw sqlite3 baseline: the bank's schema and pragmas, and nothing else of
    the project, with one account holding `opening`."""
    conn = sqlite3.connect(db, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(SCHEMA)
    conn.execute(
        "INSERT INTO accounts (id, owner, balance, opening_balance) VALUES (?, 'bench', ?, ?)",
        (DEFAULT_ACCOUNT, opening, opening),
    )
    return conn


def _raw_debit(conn: sqlite3.Connection, amount: int) -> int:
    """The tightest debit SQLite offers: one statement when it knows RETURNING (3.35 and later)."""
    if sqlite3.sqlite_version_info >= (3, 35, 0):
        (after,) = conn.execute(
            "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ? RETURNING balance",
            (amount, DEFAULT_ACCOUNT, amount),
        ).fetchone()
        return int(after)
    conn.execute(
        "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?",
        (amount, DEFAULT_ACCOUNT, amount),
    )
    return int(conn.execute("SELECT balance FROM accounts WHERE id = ?", (DEFAULT_ACCOUNT,)).fetchone()[0])


def raw_delivery(conn: sqlite3.Connection, key: str, attempt: int, amount: int, now: int) -> None:
    """The benchmarks' baseline: one delivery, the bank's work in raw sqlite3 (one transaction,
    key lookup, debit or replay). `bench_engine` and `bench_pipeline` both compare against it.
    """
    conn.execute("BEGIN IMMEDIATE")
    row = conn.execute(
        "SELECT response, hits FROM idempotency_keys WHERE account_id = ? AND key = ?", (DEFAULT_ACCOUNT, key)
    ).fetchone()
    if row is None:
        after = _raw_debit(conn, amount)
        conn.execute(
            "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at) VALUES (?, ?, ?, ?, ?)",
            (key, DEFAULT_ACCOUNT, amount, after, now),
        )
        body = f'{{"account":"{DEFAULT_ACCOUNT}","amount":{amount},"balance_after":{after},"txn_id":"{key}"}}'
        conn.execute(
            "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits, first_seen,"
            " last_seen, expires_at) VALUES (?, ?, 'fp', 'approved', ?, 1, ?, ?, ?)",
            (DEFAULT_ACCOUNT, key, body, now, now, now + 86_400_000),
        )
        outcome = "processed"
    else:
        conn.execute(
            "UPDATE idempotency_keys SET hits = hits + 1, last_seen = ? WHERE account_id = ? AND key = ?",
            (now, DEFAULT_ACCOUNT, key),
        )
        outcome = "replayed"
    conn.execute(
        "INSERT INTO deliveries (txn_id, attempt, outcome, at) VALUES (?, ?, ?, ?)",
        (key, attempt, outcome, now),
    )
    conn.execute("COMMIT")
