"""The read-only questions the reports, the export, the invariant checks and the screen ask of the file.

Each is one named function over a sqlite3 connection, so the SQL lives in `bank/` and a caller
outside it (a report, an export, a pane) never writes a query of its own. The screen's flags and
counts cover every row in the file, never only the rows a pane has room to list, so a flag such
as "T123 debited 3 times" cannot scroll away when a storm adds a hundred rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def account_figures(conn: sqlite3.Connection, account_id: str) -> tuple[int, int]:
    """(opening balance, balance) of the account; (0, 0) if there is no such account."""
    row = conn.execute("SELECT opening_balance, balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def ledger_totals(conn: sqlite3.Connection, account_id: str) -> tuple[int, int]:
    """(ledger rows, sum of their amounts) of the account."""
    rows, total = conn.execute(
        "SELECT count(*), coalesce(sum(amount), 0) FROM ledger WHERE account_id = ?", (account_id,)
    ).fetchone()
    return int(rows), int(total)


def ledger_doubles(conn: sqlite3.Connection, account_id: str) -> list[tuple[str, int]]:
    """(id, rows) of every id debited more than once, in the order of its first debit."""
    return [
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT txn_id, count(*) FROM ledger WHERE account_id = ? GROUP BY txn_id"
            " HAVING count(*) > 1 ORDER BY min(id)",
            (account_id,),
        )
    ]


def debited_ids(conn: sqlite3.Connection, account_id: str, client: str | None = None) -> set[str]:
    """Every id with at least one ledger row (of `client`'s, when given), over the whole file."""
    if client is None:
        rows = conn.execute("SELECT DISTINCT txn_id FROM ledger WHERE account_id = ?", (account_id,))
    else:
        rows = conn.execute("SELECT DISTINCT txn_id FROM ledger WHERE account_id = ? AND client_id = ?",
                            (account_id, client))
    return {str(r[0]) for r in rows}


def stored_responses(conn: sqlite3.Connection, account_id: str) -> Iterator[tuple[str, str]]:
    """(key, stored response body) of every key, streamed: a long run's keys need not fit twice."""
    for key, response in conn.execute(
        "SELECT key, response FROM idempotency_keys WHERE account_id = ?", (account_id,)
    ):
        yield str(key), str(response)


def balance_since(conn: sqlite3.Connection, account_id: str, since: int) -> int:
    """The balance at virtual time `since`: the balance now plus every debit written from then on."""
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    balance = int(row[0]) if row else 0
    debited = conn.execute(
        "SELECT coalesce(sum(amount), 0) FROM ledger WHERE account_id = ? AND at >= ?",
        (account_id, since),
    ).fetchone()[0]
    return balance + int(debited)


def read_state(conn: sqlite3.Connection, account_id: str) -> dict[str, Any]:
    """Everything stored, in a stable order: the truth a frame or a summary of an export reports."""
    row = conn.execute("SELECT balance, opening_balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    balance, opening = (int(row[0]), int(row[1])) if row else (0, 0)
    ledger = [
        {"id": r[0], "txn_id": r[1], "operation": r[2], "amount": r[3], "balance_after": r[4], "at": r[5]}
        for r in conn.execute(
            "SELECT id, txn_id, operation, amount, balance_after, at FROM ledger ORDER BY id"
        )
    ]
    deliveries: dict[str, dict[str, int]] = {}
    for key, outcome, n in conn.execute(
        "SELECT txn_id, outcome, count(*) FROM deliveries GROUP BY txn_id, outcome ORDER BY min(id)"
    ):
        deliveries.setdefault(str(key), {})[str(outcome)] = int(n)
    keys = [
        {"key": r[0], "status": r[1], "hits": r[2], "first_seen": r[3], "expires_at": r[4]}
        for r in conn.execute(
            "SELECT key, status, hits, first_seen, expires_at FROM idempotency_keys"
            " WHERE account_id = ? ORDER BY first_seen, key",
            (account_id,),
        )
    ]
    payments = [
        {"id": r[0], "key": r[1], "amount": r[2], "keyed": bool(r[3]), "at": r[4]}
        for r in conn.execute("SELECT id, key, amount, keyed, at FROM payments ORDER BY id")
    ]
    orders = [
        {"id": r[0], "order_id": r[1], "item": r[2], "quantity": r[3], "at": r[4]}
        for r in conn.execute("SELECT id, order_id, item, quantity, at FROM orders ORDER BY id")
    ]
    ballots = [
        {"id": r[0], "voter_id": r[1], "choice": r[2], "at": r[3]}
        for r in conn.execute("SELECT id, voter_id, choice, at FROM ballots ORDER BY id")
    ]
    return {
        "balance": balance,
        "opening_balance": opening,
        "ledger": ledger,
        "deliveries": deliveries,
        "keys": keys,
        "payments": payments,
        "orders": orders,
        "ballots": ballots,
    }


@dataclass(frozen=True, slots=True)
class OperationRow:
    """One row of the payments, orders or ballots table, as the bank pane lists it."""

    table: str
    id: int
    name: str  # the payment's key, the order id, the voter
    what: str  # Rs 100, 1 x book, choice
    keyed: bool


def operation_rows(
    conn: sqlite3.Connection, account_id: str, limit: int
) -> dict[str, tuple[int, list[OperationRow]]]:
    """The payments, orders and ballots tables: (rows in all, the newest `limit`) for each non-empty one."""
    out: dict[str, tuple[int, list[OperationRow]]] = {}
    queries = {
        "payments": (
            "SELECT id, key, amount, keyed FROM payments WHERE account_id = ? ORDER BY id DESC LIMIT ?",
            "SELECT count(*) FROM payments WHERE account_id = ?",
            (account_id,),
        ),
        "orders": (
            "SELECT id, order_id, quantity || ' x ' || item, 1 FROM orders WHERE account_id = ?"
            " ORDER BY id DESC LIMIT ?",
            "SELECT count(*) FROM orders WHERE account_id = ?",
            (account_id,),
        ),
        "ballots": (
            "SELECT id, voter_id, choice, 1 FROM ballots ORDER BY id DESC LIMIT ?",
            "SELECT count(*) FROM ballots",
            (),
        ),
    }
    for table, (rows_sql, count_sql, args) in queries.items():
        try:
            total = int(conn.execute(count_sql, args).fetchone()[0])
        except sqlite3.OperationalError:
            continue  # an older file without the table
        if not total:
            continue
        rows = []
        for r in conn.execute(rows_sql, (*args, limit)):
            what = f"Rs {int(r[2]):,}" if table == "payments" else str(r[2])
            rows.append(OperationRow(table, int(r[0]), str(r[1]), what, bool(r[3])))
        out[table] = (total, rows)
    return out


def repeated_operations(conn: sqlite3.Connection, account_id: str) -> list[tuple[str, str, int]]:
    """(table, name, rows) for every payment key, order id or voter written more than once."""
    out: list[tuple[str, str, int]] = []
    for table, column, scoped in (
        ("payments", "key", True),
        ("orders", "order_id", True),
        ("ballots", "voter_id", False),
    ):
        where = " WHERE account_id = ?" if scoped else ""
        args = (account_id,) if scoped else ()
        try:
            rows = conn.execute(
                f"SELECT {column}, count(*) FROM {table}{where}"
                f" GROUP BY {column} HAVING count(*) > 1 ORDER BY min(id)",
                args,
            ).fetchall()
        except sqlite3.OperationalError:
            continue
        out.extend((table, str(r[0]), int(r[1])) for r in rows)
    return out


@dataclass(frozen=True, slots=True)
class ClientLane:
    """What one client did at the bank, read from the file: the class view's lane.

    `client` is the `client_id` the rows carry ('' for a request that named nobody). Every count
    is a count of rows: deliveries by outcome, ledger rows (debits), keys still in progress, and
    the keys the ledger debited more than once (there must be none).
    """

    client: str
    keys: int
    deliveries: int
    processed: int
    declined: int
    replayed: int
    in_progress: int  # deliveries answered 409
    rejected: int  # deliveries answered 422
    debits: int
    debited_rupees: int
    held: int  # keys whose first request is still being processed (a lease held)
    doubled: tuple[tuple[str, int], ...]  # (key, ledger rows) for every key debited twice or more
    last_at: int


def _by_client(conn: sqlite3.Connection, sql: str) -> dict[str, tuple[Any, ...]]:
    return {str(r[0]): tuple(r[1:]) for r in conn.execute(sql)}


def client_lanes(conn: sqlite3.Connection) -> list[ClientLane]:
    """One lane per client that reached the bank: its deliveries by outcome, its debits and keys.

    Plain SQL (CASE, GROUP BY, no parameters) so the same text runs on SQLite and PostgreSQL.
    """
    arrivals = _by_client(
        conn,
        "SELECT client_id, count(DISTINCT txn_id), count(*),"
        " sum(CASE WHEN outcome = 'processed' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN outcome = 'declined' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN outcome = 'replayed' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN outcome = 'in_progress' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN outcome = 'rejected' THEN 1 ELSE 0 END),"
        " max(at) FROM deliveries GROUP BY client_id",
    )
    debits = _by_client(
        conn, "SELECT client_id, count(*), sum(amount), max(at) FROM ledger GROUP BY client_id"
    )
    held = _by_client(
        conn,
        "SELECT client_id, count(*) FROM idempotency_keys WHERE status = 'in_progress' GROUP BY client_id",
    )
    doubled: dict[str, list[tuple[str, int]]] = {}
    for client, key, n in conn.execute(
        "SELECT client_id, txn_id, count(*) FROM ledger GROUP BY client_id, txn_id HAVING count(*) > 1"
        " ORDER BY client_id, txn_id"
    ):
        doubled.setdefault(str(client), []).append((str(key), int(n)))
    lanes = []
    for client in sorted(set(arrivals) | set(debits)):
        a = arrivals.get(client, (0, 0, 0, 0, 0, 0, 0, 0))
        d = debits.get(client, (0, 0, 0))
        lanes.append(ClientLane(
            client, int(a[0]), int(a[1]), int(a[2] or 0), int(a[3] or 0), int(a[4] or 0), int(a[5] or 0),
            int(a[6] or 0), int(d[0]), int(d[1] or 0), int(held.get(client, (0,))[0]),
            tuple(doubled.get(client, ())), max(int(a[7] or 0), int(d[2] or 0)),
        ))
    return lanes
