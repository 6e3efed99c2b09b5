"""Withdrawals, balance and status reads: plain functions over one sqlite3 connection.

Every function here takes the connection first and the virtual time `now`; none reads a clock,
a network or Textual. `service.py` runs them inline (headless) or on aiosqlite's thread (the UI),
so both paths execute exactly the same SQL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from atm_tui.bank import idempotency
from atm_tui.bank.idempotency import (
    DECLINED,
    FOREIGN,
    IN_PROGRESS,
    MODES,
    PROCESSED,
    REJECTED,
    REPLAYED,
    REUSED,
    BankCrash,
    Delivery,
    Effect,
    GapHook,
    Mode,
    Response,
    transact,
)

# The transaction's words, importable from here as they always were.
__all__ = [
    "DECLINED",
    "FOREIGN",
    "IN_PROGRESS",
    "MODES",
    "PROCESSED",
    "REJECTED",
    "REPLAYED",
    "REUSED",
    "BankCrash",
    "GapHook",
    "Mode",
    "Response",
    "Withdrawal",
    "canonical",
    "debit_account",
    "fingerprint",
    "in_progress_body",
    "read_balance",
    "read_status",
    "withdrawal_effect",
    "record_arrival",
    "rejected_body",
    "withdraw",
]


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal request as the bank receives it."""

    txn_id: str
    account_id: str
    amount: int
    attempt: int = 1
    client: str = ""  # who sent it: the ATM's client id ('' is anonymous)

    def fingerprint(self) -> str:
        return fingerprint("withdraw", self.account_id, self.amount)


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


def debit_account(
    conn: sqlite3.Connection,
    account_id: str,
    label: str,
    amount: int,
    now: int,
    operation: str = "withdraw",
    client: str = "",
) -> tuple[bool, int | None]:
    """Debit `amount` and write its ledger row, or refuse, inside the caller's transaction.

    Returns (debited, balance): the balance after a debit, or the balance that was too small for
    it; None when there is no such account.
    """
    found = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if found is None:
        return False, None
    balance = int(found[0])
    if amount > balance:
        return False, balance
    after = balance - amount
    conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (after, account_id))
    conn.execute(
        "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at, operation, client_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (label, account_id, amount, after, now, operation, client),
    )
    return True, after


def _debit(conn: sqlite3.Connection, req: Withdrawal, now: int) -> tuple[str, str, int | None]:
    """The withdrawal's effect: debit or decline. Returns (outcome, body, balance)."""
    debited, balance = debit_account(
        conn, req.account_id, req.txn_id, req.amount, now, "withdraw", req.client
    )
    if balance is None:
        body = canonical({"reason": "no such account", "status": "declined", "txn_id": req.txn_id})
        return DECLINED, body, 0
    if not debited:
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
    body = canonical(
        {
            "account": req.account_id,
            "amount": req.amount,
            "balance_after": balance,
            "status": "approved",
            "txn_id": req.txn_id,
        }
    )
    return PROCESSED, body, balance


def withdrawal_effect(req: Withdrawal) -> Effect:
    """The withdrawal's effect as the bank's phases run it: debit or decline inside their transaction."""
    return lambda conn, now: _debit(conn, req, now)


def rejected_body(req: Withdrawal, reason: str = REUSED) -> str:
    """The 422 body: this key was already used for a different request, or by another client."""
    return canonical(
        {
            "reason": reason,
            "status": "rejected",
            "txn_id": req.txn_id,
        }
    )


def in_progress_body(req: Withdrawal) -> str:
    """The 409 body: the first delivery of this key is still being processed."""
    return canonical(
        {"reason": "still processing, retry later", "status": "in_progress", "txn_id": req.txn_id}
    )


def record_arrival(conn: sqlite3.Connection, req: Withdrawal, outcome: str, now: int) -> None:
    """Record a delivery answered without touching money or keys (in progress, rejected)."""
    idempotency.record_arrival(conn, req.txn_id, req.attempt, outcome, now, req.client)


def withdraw(
    conn: sqlite3.Connection,
    req: Withdrawal,
    now: int,
    *,
    mode: Mode = "idempotent",
    ttl: int = 86_400_000,
    gap_hook: GapHook | None = None,
) -> Response:
    """Handle one delivery of a withdrawal: the bank's one idempotent transaction, with a debit.

    `naive` debits on every delivery. `split` debits in one transaction and stores the key in a
    second; `gap_hook` runs between them and may raise BankCrash (or kill the process) to show
    why the two must be one.
    """
    return transact(
        conn,
        Delivery(req.account_id, req.txn_id, req.txn_id, req.fingerprint(), req.attempt, req.client),
        lambda c, at: _debit(c, req, at),
        now,
        rejected=lambda reason: rejected_body(req, reason),
        mode=mode,
        ttl=ttl,
        gap_hook=gap_hook,
    )


def read_balance(conn: sqlite3.Connection, account_id: str) -> int:
    """A balance inquiry: a read, naturally idempotent, no key needed."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row else 0


def read_status(conn: sqlite3.Connection, account_id: str, txn_id: str) -> str:
    """Status of a transaction by id, as a JSON body. A read: asking twice changes nothing."""
    row = conn.execute(
        "SELECT status, response, client_id FROM idempotency_keys WHERE account_id = ? AND key = ?",
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
        payload["response"] = json.loads(row[1]) if row[1] else None  # none yet while in progress
        payload["client"] = row[2]
    elif int(debits[0]):
        payload["status"] = "approved"
    else:
        payload["status"] = "not_found"
    return canonical(payload)
