"""Named read-only queries over the whole bank file: the flags and counts the screen states.

Each answer covers every row in the file, never only the rows a pane has room to list, so a
flag such as "T123 debited 3 times" cannot scroll away when a storm adds a hundred rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


def repeated_debits(conn: sqlite3.Connection, account_id: str) -> list[tuple[str, int]]:
    """Every id with more than one ledger row for the account, oldest first: (id, rows)."""
    return [
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT txn_id, count(*) FROM ledger WHERE account_id = ?"
            " GROUP BY txn_id HAVING count(*) > 1 ORDER BY min(id)",
            (account_id,),
        )
    ]


def deliveries_of(conn: sqlite3.Connection, txn_id: str) -> int:
    return int(conn.execute("SELECT count(*) FROM deliveries WHERE txn_id = ?", (txn_id,)).fetchone()[0])


def last_outcome(conn: sqlite3.Connection, txn_id: str) -> str | None:
    """The outcome of the last delivery of `txn_id`, as stored."""
    row = conn.execute(
        "SELECT outcome FROM deliveries WHERE txn_id = ? ORDER BY id DESC LIMIT 1", (txn_id,)
    ).fetchone()
    return str(row[0]) if row else None


def outcome_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many deliveries had each outcome (processed, replayed, in_progress, ...)."""
    return {
        str(r[0]): int(r[1])
        for r in conn.execute("SELECT outcome, count(*) FROM deliveries GROUP BY outcome")
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


def expired_keys(conn: sqlite3.Connection, account_id: str, now: int) -> int:
    """Keys stored for the account whose retention window has passed (the next delivery is new)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM idempotency_keys WHERE account_id = ? AND expires_at <= ?",
            (account_id, now),
        ).fetchone()[0]
    )
