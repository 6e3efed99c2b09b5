"""Many clients on one bank file: transaction numbers handed out in blocks, and who wrote rows.

Every ATM mints its keys as `prefix + number` (T123, T124, ...). Two programs on one file
(the app and `simulate`, four `simulate` runs) would each count from the same number and send
T123 for different withdrawals. So the numbers come from the file: `claim` takes a block of
them from `key_counters` in one transaction, and no other program gets a number of that block.
A fresh bank hands out its first id (123) first, so the app still tells the story with T123.
"""

from __future__ import annotations

import sqlite3

from atm_tui.bank.store import connect

# Waiting for another writer's transaction to end, when claiming a block (it is rare and short).
CLAIM_TIMEOUT_S = 10.0
# Giving unused numbers back is a courtesy (a gap in the numbering is all that is lost), so it waits
# no longer than a transaction of the bank does: a run that ended on a locked file ends at once.
GIVE_BACK_TIMEOUT_S = 0.5


def _highest_used(conn: sqlite3.Connection, prefix: str) -> int:
    """The highest number used under `prefix` in a file made before `key_counters` existed."""
    row = conn.execute(
        "SELECT max(CAST(substr(txn_id, ?) AS INTEGER)) FROM deliveries WHERE txn_id GLOB ?",
        (len(prefix) + 1, prefix + "[0-9]*"),
    ).fetchone()
    return int(row[0] or 0)


def claim_in(conn: sqlite3.Connection, prefix: str, count: int, first: int) -> int:
    """Take `count` numbers for keys `prefix<n>` in one transaction; returns the first of them."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT next_number FROM key_counters WHERE prefix = ?", (prefix,)).fetchone()
        start = int(row[0]) if row is not None else _highest_used(conn, prefix) + 1
        start = max(start, first)
        conn.execute(
            "INSERT INTO key_counters (prefix, next_number) VALUES (?, ?)"
            " ON CONFLICT (prefix) DO UPDATE SET next_number = excluded.next_number",
            (prefix, start + count),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return start


def give_back_in(conn: sqlite3.Connection, prefix: str, unused: int, end: int) -> None:
    """Return the unused numbers [unused, end) if nobody claimed after them, so ids stay contiguous."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE key_counters SET next_number = ? WHERE prefix = ? AND next_number = ?",
                     (unused, prefix, end))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def claim(path: str, prefix: str, count: int, first: int) -> int:
    """`claim_in` on a short-lived connection of its own: callable from any thread, at any time."""
    conn = connect(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(CLAIM_TIMEOUT_S * 1000)}")
        return claim_in(conn, prefix, count, first)
    finally:
        conn.close()


def give_back(path: str, prefix: str, unused: int, end: int) -> None:
    conn = connect(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(GIVE_BACK_TIMEOUT_S * 1000)}")
        give_back_in(conn, prefix, unused, end)
    finally:
        conn.close()


def writers(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """The clients whose keys or debits this file holds ('' is an anonymous one), up to `limit`."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT client_id FROM idempotency_keys UNION SELECT client_id FROM ledger ORDER BY 1 LIMIT ?",
            (limit,),
        )
    ]
