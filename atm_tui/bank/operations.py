"""One idempotent handler for every write the bank serves: payments, orders and votes.

`handle` passes each operation's effect to the bank's one idempotent transaction
(`idempotency.transact`, which withdrawals and the pipeline's charge use too): look the key up,
replay the stored response, reject a different body under a known key, or run the effect and
store its response, all in ONE `BEGIN IMMEDIATE` transaction. The keys of every operation share
the `idempotency_keys` table.

Keys are scoped by account, as Stripe scopes them: a key names one request of one client, whatever
the operation. The operation is part of the fingerprint, so the same key reused for another
operation is a different request and is rejected, like a different amount.

A *keyless* request (`Operation.key is None`, an HTTP POST without an Idempotency-Key) has nothing
to look up: every delivery runs the effect. Its `label` (the client's own name for the request)
still goes into `deliveries` and the ledger, so a double charge shows as two rows under one label.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from atm_tui.bank import idempotency
from atm_tui.bank.core import canonical, debit_account
from atm_tui.bank.idempotency import (
    DECLINED,
    PROCESSED,
    REUSED,
    Delivery,
    Effect,
    GapHook,
    Mode,
    Response,
    transact,
)

PAYMENT = "payment"
ORDER = "order"
VOTE = "vote"
OPERATIONS: tuple[str, ...] = (PAYMENT, ORDER, VOTE)


def fingerprint_of(operation: str, payload: dict[str, Any]) -> str:
    """A digest of the request body and its operation, in the same spelling as `core.fingerprint`."""
    text = canonical({**payload, "op": operation})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Operation:
    """One delivery of a write request, as the generic handler sees it.

    `label` names the request in the trace, `deliveries` and the ledger; `key` is the idempotency
    key the client sent (the label itself for a keyed request), or None for a keyless one.
    """

    name: str
    account_id: str
    label: str
    key: str | None
    fingerprint: str
    effect: Effect
    attempt: int = 1
    client: str = ""


def record_delivery(
    conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int, client: str = ""
) -> None:
    """One `deliveries` row, inside the caller's transaction."""
    idempotency.record_delivery(conn, label, attempt, outcome, now, client)


def record_arrival(
    conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int, client: str = ""
) -> None:
    """Record a delivery answered without running the handler (in progress, rejected in flight)."""
    idempotency.record_arrival(conn, label, attempt, outcome, now, client)


def rejected_body(op: Operation, reason: str = REUSED) -> str:
    """The 422 body: this key was already used for a different request, or by another client."""
    return canonical(
        {
            "key": op.label,
            "op": op.name,
            "reason": reason,
            "status": "rejected",
        }
    )


def in_progress_body(op: Operation) -> str:
    """The 409 body: the first delivery of this key is still being processed."""
    return canonical(
        {"key": op.label, "op": op.name, "reason": "still processing, retry later", "status": "in_progress"}
    )


def handle(
    conn: sqlite3.Connection,
    op: Operation,
    now: int,
    *,
    mode: Mode = "idempotent",
    ttl: int = 86_400_000,
    gap_hook: GapHook | None = None,
) -> Response:
    """Handle one delivery of `op`: lookup, replay, mismatch, or effect and stored response.

    `naive` mode (or a keyless request) runs the effect on every delivery. `split` mode commits
    the effect, calls `gap_hook` (which may raise BankCrash), then stores the key in a second
    transaction: the window the single transaction closes.
    """
    return transact(
        conn,
        Delivery(op.account_id, op.label, op.key, op.fingerprint, op.attempt, op.client),
        op.effect,
        now,
        rejected=lambda reason: rejected_body(op, reason),
        mode=mode,
        ttl=ttl,
        gap_hook=gap_hook,
    )


def _balance(conn: sqlite3.Connection, account_id: str) -> int | None:
    """The unchanged balance, so a Processed event for an order or a vote reports it truthfully."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row else None


# -- the three effects: each runs inside the handler's transaction ------------------------------


def payment(account_id: str, label: str, amount: int, keyed: bool, client: str = "") -> tuple[str, Effect]:
    """A card charge: a `payments` row (the charge) plus a ledger row, since money leaves the account.

    Returns (fingerprint, effect).
    """

    def effect(conn: sqlite3.Connection, now: int) -> tuple[str, str, int | None]:
        debited, balance = debit_account(conn, account_id, label, amount, now, PAYMENT, client)
        if not debited:
            reason = "no such account" if balance is None else "insufficient funds"
            body = canonical(
                {"amount": amount, "key": label, "op": PAYMENT, "reason": reason, "status": "declined"}
            )
            return DECLINED, body, balance or 0
        after = balance
        cur = conn.execute(
            "INSERT INTO payments (key, account_id, amount, keyed, at) VALUES (?, ?, ?, ?, ?)",
            (label, account_id, amount, int(keyed), now),
        )
        body = canonical(
            {
                "amount": amount,
                "balance_after": after,
                "charge_id": f"ch_{cur.lastrowid}",
                "key": label,
                "op": PAYMENT,
                "status": "approved",
            }
        )
        return PROCESSED, body, after

    return fingerprint_of(PAYMENT, {"account": account_id, "amount": amount}), effect


def order(account_id: str, order_id: str, item: str, quantity: int) -> tuple[str, Effect]:
    """Create order `order_id`: one `orders` row. No money moves (paying is a separate request)."""

    def effect(conn: sqlite3.Connection, now: int) -> tuple[str, str, int | None]:
        cur = conn.execute(
            "INSERT INTO orders (order_id, account_id, item, quantity, at) VALUES (?, ?, ?, ?, ?)",
            (order_id, account_id, item, quantity, now),
        )
        body = canonical(
            {
                "item": item,
                "op": ORDER,
                "order_id": order_id,
                "quantity": quantity,
                "row": cur.lastrowid,
                "status": "approved",
            }
        )
        return PROCESSED, body, _balance(conn, account_id)

    return fingerprint_of(ORDER, {"account": account_id, "item": item, "quantity": quantity}), effect


def vote(account_id: str, voter_id: str, choice: str) -> tuple[str, Effect]:
    """Count one ballot for `voter_id`: one `ballots` row. The voter id is the key."""

    def effect(conn: sqlite3.Connection, now: int) -> tuple[str, str, int | None]:
        cur = conn.execute(
            "INSERT INTO ballots (voter_id, choice, at) VALUES (?, ?, ?)", (voter_id, choice, now)
        )
        body = canonical(
            {"ballot": cur.lastrowid, "choice": choice, "op": VOTE, "status": "approved", "voter": voter_id}
        )
        return PROCESSED, body, _balance(conn, account_id)

    return fingerprint_of(VOTE, {"choice": choice, "voter": voter_id}), effect


def build(
    name: str,
    account_id: str,
    label: str,
    fields: dict[str, Any],
    *,
    keyless: bool = False,
    attempt: int = 1,
    client: str = "",
) -> Operation:
    """The Operation for one delivery of request `name` with body `fields` (as sent on the wire)."""
    if name == PAYMENT:
        fp, effect = payment(account_id, label, int(fields["amount"]), not keyless, client)
    elif name == ORDER:
        fp, effect = order(account_id, label, str(fields.get("item", "")), int(fields.get("quantity", 1)))
    elif name == VOTE:
        fp, effect = vote(account_id, str(fields["voter"]), str(fields["choice"]))
    else:
        raise ValueError(f"operation {name!r}: use one of {', '.join(OPERATIONS)}")
    return Operation(name, account_id, label, None if keyless else label, fp, effect, attempt, client)
