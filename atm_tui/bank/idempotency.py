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

Many clients, one bank: every row records its `client_id`, and a key presented by another client
than the one that first used it is refused (REJECTED, HTTP 422), never replayed as that client's
cash. A key row may also be `in_progress`: the HTTP bank's two atomic phases (`begin`, then
`complete`) hold a key with a lease (`locked_until`) and a `lock_token` between them, so every
worker and every process on the file answers "in progress" while it is held; once the lease
lapses a retry takes the key over, and `complete` commits the effect only if the token is still
its own, so a lapsed lease can never debit twice. `transact` honours such a row too.
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
REJECTED = "rejected"  # known key, different request body or another client (HTTP 422)

# Why a key was rejected, in the rejected body and on screen.
REUSED = "idempotency key reused with a different request"
FOREIGN = "idempotency key belongs to another client"

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
    reason: str = ""  # why a delivery was rejected (REUSED or FOREIGN)


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
    client: str = ""  # who sent it ('' is an anonymous client)


def status_of(outcome: str) -> str:
    """The stored status of a new key's result."""
    return "approved" if outcome == PROCESSED else "declined"


def record_delivery(
    conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int, client: str = ""
) -> None:
    """One `deliveries` row, inside the caller's transaction."""
    conn.execute(_RECORD, (label, attempt, outcome, now, client))


def record_arrival(
    conn: sqlite3.Connection, label: str, attempt: int, outcome: str, now: int, client: str = ""
) -> None:
    """Record, in its own transaction, a delivery answered without running it (in progress, 422)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_delivery(conn, label, attempt, outcome, now, client)
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
    rejected: Callable[[str], str],
    mode: Mode = "idempotent",
    ttl: int = 86_400_000,
    gap_hook: GapHook | None = None,
    guard: Guard | None = None,
    finish: Finish | None = None,
) -> Response:
    """Handle one delivery of `d` as the module docstring says; `rejected(reason)` is the 422 body.

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
        client = d.client
        if mode == "naive" or key is None:
            outcome, body, after = effect(conn, now)
            execute(_RECORD, (d.label, d.attempt, outcome, now, client))
            resp = Response(outcome, status_of(outcome), body, balance_after=after)
        else:
            account = d.account_id
            row = execute(_LOOKUP, (account, key)).fetchone()  # 1. scoped by account
            # 2. forgotten past its retention window, or an in-progress key whose lease lapsed
            # (written out, not a call: this is the hot path the engine benchmark measures)
            expired = row is not None and (
                row[3] <= now if row[4] != IN_PROGRESS else (row[6] is None or row[6] <= now)
            )
            if expired:
                execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", (account, key))
                row = None
            if row is None:  # 5. new: the effect, its delivery, its key
                outcome, body, after = effect(conn, now)
                execute(_RECORD, (d.label, d.attempt, outcome, now, client))
                if mode == "split":
                    execute("COMMIT")
                    if gap_hook is not None:
                        gap_hook(d.label)
                    execute("BEGIN IMMEDIATE")
                status = status_of(outcome)
                execute(_STORE, (account, key, d.fingerprint, status, body, now, now, now + ttl, client))
                resp = Response(outcome, status, body, balance_after=after, hits=1, expired_key=expired)
            elif row[5] != client or row[0] != d.fingerprint:  # 3. another client's, or another request
                reason = FOREIGN if row[5] != client else REUSED
                execute(_RECORD, (d.label, d.attempt, REJECTED, now, client))
                resp = Response(REJECTED, "rejected", rejected(reason), reason=reason)
            elif row[4] == IN_PROGRESS:  # held by a request of another worker or process
                execute(_RECORD, (d.label, d.attempt, IN_PROGRESS, now, client))
                resp = Response(IN_PROGRESS, IN_PROGRESS, "")
            else:  # 4. a retry: count the hit, replay the stored body verbatim
                hits = int(row[2]) + 1
                execute(_HIT, (hits, now, account, key))
                execute(_RECORD, (d.label, d.attempt, REPLAYED, now, client))
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


def _forgotten(row: tuple[int | str | None, ...], now: int) -> bool:
    """A completed key past its retention window, or an in-progress key whose lease lapsed."""
    if row[4] == IN_PROGRESS:
        return row[6] is None or int(row[6]) <= now
    return int(row[3] or 0) <= now


class Lease(NamedTuple):
    """A key held in progress by one request: until `until` (the file's clock), proven by `token`."""

    token: str
    until: int


def begin(
    conn: sqlite3.Connection,
    d: Delivery,
    now: int,
    lease: Lease,
    *,
    rejected: Callable[[str], str],
) -> Response | None:
    """Atomic phase 1, one short transaction: take the key with `lease`, or answer without work.

    Returns None when the key is now held by `lease` (new, expired, or a lapsed lease taken
    over); otherwise the answer: a replay of the stored response, in progress (another request
    holds the lease), or rejected (another client's key, or another request under it). The
    effect runs later, in `complete`; between the two nothing is open on the file.
    """
    assert d.key is not None
    execute = conn.execute
    account, key, client = d.account_id, d.key, d.client
    execute("BEGIN IMMEDIATE")
    try:
        row = execute(_LOOKUP, (account, key)).fetchone()
        if row is not None and _forgotten(row, now):
            if row[4] == IN_PROGRESS and row[5] == client and row[0] == d.fingerprint:
                # A lapsed lease: its holder died or is too slow; this retry takes the key over.
                execute("UPDATE idempotency_keys SET lock_token = ?, locked_until = ?, last_seen = ?"
                        " WHERE account_id = ? AND key = ?", (lease.token, lease.until, now, account, key))
                execute("COMMIT")
                return None
            execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", (account, key))
            row = None
        if row is None:
            execute(_HOLD, (account, key, d.fingerprint, now, now, lease.until, client, lease.until,
                            lease.token))
            execute("COMMIT")
            return None
        if row[5] != client or row[0] != d.fingerprint:
            reason = FOREIGN if row[5] != client else REUSED
            execute(_RECORD, (d.label, d.attempt, REJECTED, now, client))
            resp = Response(REJECTED, "rejected", rejected(reason), reason=reason)
        elif row[4] == IN_PROGRESS:
            execute(_RECORD, (d.label, d.attempt, IN_PROGRESS, now, client))
            resp = Response(IN_PROGRESS, IN_PROGRESS, "")
        else:
            hits = int(row[2]) + 1
            execute(_HIT, (hits, now, account, key))
            execute(_RECORD, (d.label, d.attempt, REPLAYED, now, client))
            body, status = str(row[1]), str(row[4])
            after = _DECODE(body)[0].get("balance_after")
            resp = Response(REPLAYED, status, body, replayed=True, balance_after=after, hits=hits)
        execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            execute("ROLLBACK")
        raise
    return resp


def complete(
    conn: sqlite3.Connection, d: Delivery, effect: Effect, now: int, lease: Lease, *, ttl: int = 86_400_000
) -> Response | None:
    """Atomic phase 2, ONE transaction: the effect, its delivery and the stored response.

    Only while `lease.token` still holds the key: if the lease lapsed and a retry took the key
    over (or completed it), nothing is applied and None is returned, so a lapsed lease can never
    debit twice.
    """
    assert d.key is not None
    execute = conn.execute
    execute("BEGIN IMMEDIATE")
    try:
        row = execute("SELECT status, lock_token FROM idempotency_keys WHERE account_id = ? AND key = ?",
                      (d.account_id, d.key)).fetchone()
        if row is None or row[0] != IN_PROGRESS or row[1] != lease.token:
            execute("ROLLBACK")
            return None
        outcome, body, after = effect(conn, now)
        execute(_RECORD, (d.label, d.attempt, outcome, now, d.client))
        status = status_of(outcome)
        execute("UPDATE idempotency_keys SET status = ?, response = ?, hits = hits + 1, last_seen = ?,"
                " expires_at = ?, locked_until = NULL, lock_token = NULL WHERE account_id = ? AND key = ?",
                (status, body, now, now + ttl, d.account_id, d.key))
        execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            execute("ROLLBACK")
        raise
    return Response(outcome, status, body, balance_after=after, hits=1)


def release(conn: sqlite3.Connection, d: Delivery, lease: Lease) -> None:
    """Give a held key back (its request failed before phase 2): it is new again for a retry."""
    execute = conn.execute
    execute("BEGIN IMMEDIATE")
    try:
        execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status = ?"
                " AND lock_token = ?", (d.account_id, d.key, IN_PROGRESS, lease.token))
        execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            execute("ROLLBACK")
        raise


_RECORD = "INSERT INTO deliveries (txn_id, attempt, outcome, at, client_id) VALUES (?, ?, ?, ?, ?)"
_LOOKUP = (
    "SELECT fingerprint, response, hits, expires_at, status, client_id, locked_until"
    " FROM idempotency_keys WHERE account_id = ? AND key = ?"
)
_HIT = "UPDATE idempotency_keys SET hits = ?, last_seen = ? WHERE account_id = ? AND key = ?"
_STORE = (
    "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits,"
    " first_seen, last_seen, expires_at, client_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)"
)
_HOLD = (
    "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits,"
    " first_seen, last_seen, expires_at, client_id, locked_until, lock_token)"
    " VALUES (?, ?, ?, 'in_progress', '', 0, ?, ?, ?, ?, ?, ?)"
)
# Stored bodies are canonical JSON: the C scanner reads one without json.loads' wrapping.
_DECODE = json.JSONDecoder().raw_decode
