"""The bank's one idempotent transaction, used by every write it serves, and its outcomes' words.

`transact` is the bank's one transaction, with the side effect passed in. Withdrawals
(`core.withdraw`), payments, orders and ballots (`operations.handle`) and the log pipeline's
charge (`pipeline_store.charge`) each call it with only their effect, so a change to a rule here
(how a key expires, what a mismatch answers) is one edit for all of them.

Inside ONE `BEGIN IMMEDIATE`:

1. look the key up, scoped by account (a key names one request of one client);
2. a key past its `expires_at` is forgotten: this delivery counts as new;
3. a known key with another fingerprint is a different request: record it, answer 422;
4. a known key with the same fingerprint: count the hit, record it, replay the stored body;
5. otherwise run the effect, record the delivery, store the key with the effect's body.

`naive` mode (or a keyless request) runs the effect on every delivery. `split` mode commits the
effect, calls `gap_hook` (which may raise BankCrash), then stores the key in a second
transaction: the window the single transaction closes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

Mode = Literal["idempotent", "naive", "split"]
MODES: tuple[Mode, ...] = ("idempotent", "naive", "split")

# What one delivery did at the bank; stored in deliveries.outcome.
PROCESSED = "processed"  # new key: the effect ran
DECLINED = "declined"  # new key: the effect refused (insufficient funds), a result stored like any other
REPLAYED = "replayed"  # known key: the stored response, verbatim
IN_PROGRESS = "in_progress"  # another delivery of the key is still being processed (HTTP 409)
REJECTED = "rejected"  # known key, different request body (HTTP 422)

GapHook = Callable[[str], None]
# What an effect returns: (PROCESSED or DECLINED, the response body, the balance after or None).
Effect = Callable[[sqlite3.Connection, int], tuple[str, str, "int | None"]]


class BankCrash(Exception):
    """The bank process died at a crash point; nothing after it ran."""


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


# Runs first inside the transaction; a Response it returns ends it (rolled back) with that answer.
Guard = Callable[[sqlite3.Connection], "Response | None"]
# Runs last inside the transaction, before COMMIT; may add to it and refine the answer, or raise.
Finish = Callable[[sqlite3.Connection, Response], Response]


class Delivery(NamedTuple):
    """One delivery as the transaction sees it, whatever the operation (a tuple: built per delivery).

    `label` names the request in `deliveries` (and the ledger); `key` is the idempotency key the
    client sent, or None for a keyless request; `fingerprint` digests the request body.
    """

    account_id: str
    label: str
    key: str | None
    fingerprint: str
    attempt: int = 1


def status_of(outcome: str) -> str:
    """The stored status of a new key's result."""
    return "approved" if outcome == PROCESSED else "declined"


def record_delivery(conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int) -> None:
    """One `deliveries` row, inside the caller's transaction."""
    conn.execute(_RECORD, (label, attempt, outcome, now))


def record_arrival(conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int) -> None:
    """Record, in its own transaction, a delivery answered without running it (in progress, 422)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_delivery(conn, label, attempt, outcome, now)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def transact(
    conn: sqlite3.Connection,
    d: Delivery,
    effect: Effect,
    now: int,
    *,
    rejected: Callable[[], str],
    mode: Mode = "idempotent",
    ttl: int = 86_400_000,
    gap_hook: GapHook | None = None,
    guard: Guard | None = None,
    finish: Finish | None = None,
) -> Response:
    """Handle one delivery of `d` as the module docstring says; `rejected()` is the 422 body.

    `guard` runs first and `finish` last inside the same transaction (the pipeline's fence
    check and offset write). The steps are written out in one function on purpose: this is
    the withdrawal's hot path, and each call saved is measured by the engine benchmark.
    """
    execute = conn.execute
    execute("BEGIN IMMEDIATE")
    try:
        if guard is not None:
            stop = guard(conn)
            if stop is not None:
                execute("ROLLBACK")
                return stop
        key = d.key
        if mode == "naive" or key is None:
            outcome, body, after = effect(conn, now)
            execute(_RECORD, (d.label, d.attempt, outcome, now))
            resp = Response(outcome, status_of(outcome), body, balance_after=after)
        else:
            account = d.account_id
            row = execute(_LOOKUP, (account, key)).fetchone()  # 1. scoped by account
            expired = row is not None and int(row[3]) <= now
            if expired:  # 2. forgotten past its retention window
                execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", (account, key))
                row = None
            if row is None:  # 5. new: the effect, its delivery, its key
                outcome, body, after = effect(conn, now)
                execute(_RECORD, (d.label, d.attempt, outcome, now))
                if mode == "split":
                    execute("COMMIT")
                    if gap_hook is not None:
                        gap_hook(d.label)
                    execute("BEGIN IMMEDIATE")
                status = status_of(outcome)
                execute(_STORE, (account, key, d.fingerprint, status, body, now, now, now + ttl))
                resp = Response(outcome, status, body, balance_after=after, hits=1, expired_key=expired)
            elif row[0] != d.fingerprint:  # 3. the same key for another request
                execute(_RECORD, (d.label, d.attempt, REJECTED, now))
                resp = Response(REJECTED, "rejected", rejected())
            else:  # 4. a retry: count the hit, replay the stored body verbatim
                hits = int(row[2]) + 1
                execute(_HIT, (hits, now, account, key))
                execute(_RECORD, (d.label, d.attempt, REPLAYED, now))
                body, status = str(row[1]), str(row[4])  # the key row keeps the body's status too
                after = _DECODE(body)[0].get("balance_after")
                resp = Response(REPLAYED, status, body, replayed=True, balance_after=after, hits=hits)
        if finish is not None:
            resp = finish(conn, resp)
        execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            execute("ROLLBACK")
        raise
    return resp


_RECORD = "INSERT INTO deliveries (txn_id, attempt, outcome, at) VALUES (?, ?, ?, ?)"
_LOOKUP = (
    "SELECT fingerprint, response, hits, expires_at, status FROM idempotency_keys"
    " WHERE account_id = ? AND key = ?"
)
_HIT = "UPDATE idempotency_keys SET hits = ?, last_seen = ? WHERE account_id = ? AND key = ?"
_STORE = (
    "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits,"
    " first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)"
)
# Stored bodies are canonical JSON: the C scanner reads one without json.loads' wrapping.
_DECODE = json.JSONDecoder().raw_decode
