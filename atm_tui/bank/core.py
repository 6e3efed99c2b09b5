"""The bank's transactions: plain functions over one sqlite3 connection, one call per transaction.

Every function here takes the connection first and the virtual time `now`; none reads a clock,
a network or Textual. `service.py` runs them inline (headless) or on aiosqlite's thread (the UI),
so both paths execute exactly the same SQL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["idempotent", "naive", "split"]
MODES: tuple[Mode, ...] = ("idempotent", "naive", "split")

# What one delivery did at the bank; stored in deliveries.outcome.
PROCESSED = "processed"  # new key: debited
DECLINED = "declined"  # new key: insufficient funds, a result stored like any other
REPLAYED = "replayed"  # known key: the stored response, verbatim
IN_PROGRESS = "in_progress"  # another delivery of the key is still being processed (HTTP 409)
REJECTED = "rejected"  # known key, different request body (HTTP 422)

GapHook = Callable[[str], None]


class BankCrash(Exception):
    """The bank process died at a crash point; nothing after it ran."""


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal request as the bank receives it."""

    txn_id: str
    account_id: str
    amount: int
    attempt: int = 1

    def fingerprint(self) -> str:
        return fingerprint("withdraw", self.account_id, self.amount)


@dataclass(frozen=True, slots=True)
class Response:
    """The bank's answer to one delivery. `body` is the exact JSON text sent back."""

    outcome: str
    status: str  # approved | declined | in_progress | rejected
    body: str
    replayed: bool = False
    balance_after: int | None = None
    hits: int = 0
    expired_key: bool = False


# One encoder for every body: json.dumps with options would build a new one on each call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical(payload: dict[str, Any]) -> str:
    """The one JSON spelling of a payload, so stored and replayed bodies compare byte for byte."""
    return _ENCODER.encode(payload)


# A pure function of a few small values, asked for on every delivery: remember recent answers.
@functools.lru_cache(maxsize=1024, typed=True)
def fingerprint(operation: str, account_id: str, amount: int) -> str:
    """A digest of the request body: the same key with another body is a different request."""
    text = canonical({"account": account_id, "amount": amount, "op": operation})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _record_delivery(conn: sqlite3.Connection, req: Withdrawal, outcome: str, now: int) -> None:
    conn.execute(
        "INSERT INTO deliveries (txn_id, attempt, outcome, at) VALUES (?, ?, ?, ?)",
        (req.txn_id, req.attempt, outcome, now),
    )


def _debit(conn: sqlite3.Connection, req: Withdrawal, now: int) -> tuple[str, str, int]:
    """Debit or decline; write the ledger row on a debit. Returns (outcome, body, balance)."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (req.account_id,)).fetchone()
    if row is None:
        body = canonical(
            {"reason": "no such account", "status": "declined", "txn_id": req.txn_id}
        )
        return DECLINED, body, 0
    balance = int(row[0])
    if req.amount > balance:
        body = canonical(
            {
                "account": req.account_id,
                "amount": req.amount,
                "balance": balance,
                "reason": "insufficient funds",
                "status": "declined",
                "txn_id": req.txn_id,
            }
        )
        return DECLINED, body, balance
    after = balance - req.amount
    conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (after, req.account_id))
    conn.execute(
        "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at) VALUES (?, ?, ?, ?, ?)",
        (req.txn_id, req.account_id, req.amount, after, now),
    )
    body = canonical(
        {
            "account": req.account_id,
            "amount": req.amount,
            "balance_after": after,
            "status": "approved",
            "txn_id": req.txn_id,
        }
    )
    return PROCESSED, body, after


def _status_of(outcome: str) -> str:
    return "approved" if outcome == PROCESSED else "declined"


def _store_key(
    conn: sqlite3.Connection, req: Withdrawal, outcome: str, body: str, now: int, ttl: int
) -> None:
    conn.execute(
        "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits,"
        " first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (req.account_id, req.txn_id, req.fingerprint(), _status_of(outcome), body, now, now, now + ttl),
    )


def _rejected_body(req: Withdrawal) -> str:
    return canonical(
        {
            "reason": "idempotency key reused with a different request",
            "status": "rejected",
            "txn_id": req.txn_id,
        }
    )


def rejected_body(req: Withdrawal) -> str:
    """The 422 body: this key was already used for a different request."""
    return _rejected_body(req)


def in_progress_body(req: Withdrawal) -> str:
    """The 409 body: the first delivery of this key is still being processed."""
    return canonical(
        {"reason": "still processing, retry later", "status": "in_progress", "txn_id": req.txn_id}
    )


def record_arrival(conn: sqlite3.Connection, req: Withdrawal, outcome: str, now: int) -> None:
    """Record a delivery answered without touching money or keys (in progress, rejected)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _record_delivery(conn, req, outcome, now)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def withdraw(
    conn: sqlite3.Connection,
    req: Withdrawal,
    now: int,
    *,
    mode: Mode = "idempotent",
    ttl: int = 86_400_000,
    gap_hook: GapHook | None = None,
) -> Response:
    """Handle one delivery of a withdrawal. Idempotent mode is ONE transaction (DESIGN.md's steps).

    `naive` debits on every delivery. `split` debits in one transaction and stores the key in a
    second; `gap_hook` runs between them and may raise BankCrash (or kill the process) to show
    why the two must be one.
    """
    if mode == "naive":
        return _withdraw_naive(conn, req, now)
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT fingerprint, response, hits, expires_at, status FROM idempotency_keys"
            " WHERE account_id = ? AND key = ?",
            (req.account_id, req.txn_id),
        ).fetchone()
        expired = row is not None and int(row[3]) <= now
        if expired:
            # Past its retention window the key is forgotten: this delivery counts as new.
            conn.execute(
                "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?",
                (req.account_id, req.txn_id),
            )
            row = None
        if row is not None:
            if row[0] != req.fingerprint():
                _record_delivery(conn, req, REJECTED, now)
                conn.execute("COMMIT")
                return Response(REJECTED, "rejected", _rejected_body(req))
            hits = int(row[2]) + 1
            conn.execute(
                "UPDATE idempotency_keys SET hits = ?, last_seen = ? WHERE account_id = ? AND key = ?",
                (hits, now, req.account_id, req.txn_id),
            )
            _record_delivery(conn, req, REPLAYED, now)
            conn.execute("COMMIT")
            body, status = str(row[1]), str(row[4])  # the key row keeps the body's status too
            after = json.loads(body).get("balance_after")
            return Response(REPLAYED, status, body, replayed=True, balance_after=after, hits=hits)
        outcome, body, after = _debit(conn, req, now)
        _record_delivery(conn, req, outcome, now)
        if mode == "split":
            conn.execute("COMMIT")
            if gap_hook is not None:
                gap_hook(req.txn_id)
            conn.execute("BEGIN IMMEDIATE")
        _store_key(conn, req, outcome, body, now, ttl)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Response(outcome, _status_of(outcome), body, balance_after=after, hits=1, expired_key=expired)


def _withdraw_naive(conn: sqlite3.Connection, req: Withdrawal, now: int) -> Response:
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcome, body, after = _debit(conn, req, now)
        _record_delivery(conn, req, outcome, now)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Response(outcome, _status_of(outcome), body, balance_after=after)


def read_balance(conn: sqlite3.Connection, account_id: str) -> int:
    """A balance inquiry: a read, naturally idempotent, no key needed."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row else 0


def read_status(conn: sqlite3.Connection, account_id: str, txn_id: str) -> str:
    """Status of a transaction by id, as a JSON body. A read: asking twice changes nothing."""
    row = conn.execute(
        "SELECT status, response FROM idempotency_keys WHERE account_id = ? AND key = ?",
        (account_id, txn_id),
    ).fetchone()
    debits = conn.execute(
        "SELECT count(*), coalesce(sum(amount), 0) FROM ledger WHERE txn_id = ? AND account_id = ?",
        (txn_id, account_id),
    ).fetchone()
    payload: dict[str, Any] = {
        "debits": int(debits[0]),
        "debited": int(debits[1]),
        "txn_id": txn_id,
    }
    if row is not None:
        payload["status"] = row[0]
        payload["response"] = json.loads(row[1])
    elif int(debits[0]):
        payload["status"] = "approved"
    else:
        payload["status"] = "not_found"
    return canonical(payload)
