"""The log pipeline's transactions in the bank's SQLite file: charges, consumer offsets, fencing.

A consumer of the payments topic charges the account once per message. Its three modes differ
only in what shares a transaction with the charge:

- `naive`: the charge alone; the offset is committed later, in its own transaction.
- `idempotent`: the charge plus the message id as an idempotency key (a re-delivery is a hit);
  the offset is still committed later, in its own transaction.
- `transactional`: the key check, the charge AND the offset commit, in ONE transaction, fenced
  by the consumer group's epoch: a crash leaves either all of it or none of it.

Fencing: every consumer that joins the group bumps `consumer_groups.epoch`; a commit carrying an
older epoch (a zombie's) is refused and rolled back. Like `core.py`, every function takes the
connection first and the virtual time `now`; none knows about networks, clocks or Textual.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from atm_tui.bank.core import canonical, debit_account, fingerprint
from atm_tui.bank.idempotency import DECLINED, PROCESSED, REPLAYED, Delivery, Response, transact

ConsumerMode = Literal["naive", "idempotent", "transactional"]
CONSUMER_MODES: tuple[ConsumerMode, ...] = ("naive", "idempotent", "transactional")

CHARGE = "charge"  # ledger.operation of a pipeline charge
FENCED = "fenced"  # outcome of a transactional charge refused because its epoch is stale

Hook = Callable[[], None]

PIPELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS consumer_groups (
    group_id  TEXT PRIMARY KEY,
    epoch     INTEGER NOT NULL,
    joined_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    group_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    epoch        INTEGER NOT NULL,
    committed_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
"""


@dataclass(frozen=True, slots=True)
class Charge:
    """One delivery of one log record to the consumer, as the bank sees it."""

    message_id: str
    account_id: str
    amount: int
    partition: int
    offset: int
    delivery: int = 1  # which delivery of this message id (stored in deliveries.attempt)
    client: str = ""  # the consumer group charging it

    def fingerprint(self) -> str:
        return fingerprint(CHARGE, self.account_id, self.amount)


@dataclass(frozen=True, slots=True)
class OffsetCommit:
    """`next_offset` is the offset of the next record to read (Kafka's convention)."""

    group_id: str
    topic: str
    partition: int
    next_offset: int
    epoch: int


@dataclass(frozen=True, slots=True)
class ChargeResult:
    outcome: str  # processed | replayed | declined | rejected | fenced
    balance_after: int = 0
    hits: int = 0
    committed: bool = False  # the offset went in the same transaction (transactional mode)
    current_epoch: int = 0  # the group's epoch, when fenced
    expired_key: bool = False  # the message id's key had expired: this charge is outside the dedup window


@dataclass(frozen=True, slots=True)
class CommitResult:
    ok: bool
    current_epoch: int


def prepare_pipeline(conn: sqlite3.Connection, topic: str, *, fresh: bool = False) -> None:
    """Create the pipeline's tables; forget the group's offsets for `topic`.

    The broker's log lives in memory, so each run's topic is new: Kafka deletes committed offsets
    together with a deleted topic, and so do we (the group's epoch is kept: it only grows).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in PIPELINE_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        if fresh:
            conn.execute("DELETE FROM consumer_groups")
        conn.execute("DELETE FROM consumer_offsets WHERE topic = ?", (topic,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def join_group(
    conn: sqlite3.Connection, group_id: str, topic: str, partitions: int, now: int
) -> tuple[int, list[int]]:
    """A consumer joins: bump the group's epoch (fencing every older member), read its offsets.

    Returns (epoch, next offset per partition); a partition never committed starts at 0.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT epoch FROM consumer_groups WHERE group_id = ?", (group_id,)).fetchone()
        epoch = (int(row[0]) if row else 0) + 1
        conn.execute(
            "INSERT INTO consumer_groups (group_id, epoch, joined_at) VALUES (?, ?, ?)"
            " ON CONFLICT (group_id) DO UPDATE SET epoch = excluded.epoch, joined_at = excluded.joined_at",
            (group_id, epoch, now),
        )
        stored = dict(
            conn.execute(
                "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = ? AND topic = ?",
                (group_id, topic),
            ).fetchall()
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return epoch, [int(stored.get(p, 0)) for p in range(partitions)]


def _group_epoch(conn: sqlite3.Connection, group_id: str) -> int:
    row = conn.execute("SELECT epoch FROM consumer_groups WHERE group_id = ?", (group_id,)).fetchone()
    return int(row[0]) if row else 0


def _write_offset(conn: sqlite3.Connection, c: OffsetCommit, now: int) -> None:
    conn.execute(
        "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, epoch, committed_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, topic, partition) DO UPDATE SET"
        " next_offset = excluded.next_offset, epoch = excluded.epoch, committed_at = excluded.committed_at",
        (c.group_id, c.topic, c.partition, c.next_offset, c.epoch, now),
    )


def commit_offset(conn: sqlite3.Connection, commit: OffsetCommit, now: int) -> CommitResult:
    """Commit a consumer's position in its own transaction; refused if its epoch is not current."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _group_epoch(conn, commit.group_id)
        if commit.epoch != current:
            conn.execute("ROLLBACK")
            return CommitResult(False, current)
        _write_offset(conn, commit, now)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return CommitResult(True, current)


def _debit(conn: sqlite3.Connection, c: Charge, now: int) -> tuple[str, str, int | None]:
    """The charge's effect: debit and write the ledger row, or decline. Returns (outcome, body, balance)."""
    debited, balance = debit_account(conn, c.account_id, c.message_id, c.amount, now, CHARGE, c.client)
    if not debited:
        reason = "no such account" if balance is None else "insufficient funds"
        body = canonical(
            {
                "amount": c.amount,
                "balance": balance or 0,
                "op": CHARGE,
                "reason": reason,
                "status": "declined",
                "txn_id": c.message_id,
            }
        )
        return DECLINED, body, balance or 0
    body = canonical(
        {
            "account": c.account_id,
            "amount": c.amount,
            "balance_after": balance,
            "op": CHARGE,
            "status": "approved",
            "txn_id": c.message_id,
        }
    )
    return PROCESSED, body, balance


def charge(
    conn: sqlite3.Connection,
    c: Charge,
    now: int,
    *,
    mode: ConsumerMode,
    commit: OffsetCommit | None = None,
    ttl: int = 86_400_000,
    before_commit: Hook | None = None,
) -> ChargeResult:
    """Apply one delivery as ONE transaction. `transactional` needs `commit` (the offset to store).

    The bank's one idempotent transaction (`idempotency.transact`) with the charge as its effect;
    `transactional` mode adds the fence check first and the offset write last, inside it.
    `before_commit` runs after every statement and before COMMIT; if it raises (a crash), the
    transaction rolls back and nothing of it is stored.
    """
    if mode == "transactional" and commit is None:
        raise ValueError("a transactional charge needs the offset to commit with it")

    fenced_by: list[int] = []

    def fence(conn: sqlite3.Connection) -> Response | None:
        assert commit is not None
        current = _group_epoch(conn, commit.group_id)
        if commit.epoch != current:
            # A zombie: a newer member owns the group. Nothing it did may be stored.
            fenced_by.append(current)
            return Response(FENCED, FENCED, "")
        return None

    def finish(conn: sqlite3.Connection, resp: Response) -> Response:
        if resp.outcome == REPLAYED:
            # A hit reports the balance as it is now, not the one stored with the first charge.
            resp = Response(resp.outcome, resp.status, resp.body, True, read_balance(conn, c.account_id),
                            resp.hits)
        if mode == "transactional":
            assert commit is not None
            _write_offset(conn, commit, now)
        if before_commit is not None:
            before_commit()
        return resp

    resp = transact(
        conn,
        Delivery(c.account_id, c.message_id, c.message_id, c.fingerprint(), c.delivery, c.client),
        lambda conn_, at: _debit(conn_, c, at),
        now,
        rejected=lambda reason: "",
        mode="naive" if mode == "naive" else "idempotent",
        ttl=ttl,
        guard=fence if mode == "transactional" else None,
        finish=finish,
    )
    if fenced_by:
        return ChargeResult(FENCED, current_epoch=fenced_by[0])
    if mode == "transactional":
        assert commit is not None
        return ChargeResult(resp.outcome, resp.balance_after or 0, resp.hits, True, commit.epoch,
                            resp.expired_key)
    return ChargeResult(resp.outcome, resp.balance_after or 0, resp.hits, expired_key=resp.expired_key)


def read_balance(conn: sqlite3.Connection, account_id: str) -> int:
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row else 0


def read_offsets(conn: sqlite3.Connection, group_id: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (next offset, epoch that committed it), as stored."""
    return {
        int(r[0]): (int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT partition, next_offset, epoch FROM consumer_offsets WHERE group_id = ? AND topic = ?",
            (group_id, topic),
        )
    }


def read_group_epoch(conn: sqlite3.Connection, group_id: str) -> int:
    return _group_epoch(conn, group_id)


def highest_message_number(conn: sqlite3.Connection, prefix: str) -> int:
    """The highest message number stored, so a reopened bank never reuses a message id."""
    row = conn.execute(
        "SELECT max(CAST(substr(txn_id, ?) AS INTEGER)) FROM deliveries WHERE txn_id GLOB ?",
        (len(prefix) + 1, prefix + "[0-9]*"),
    ).fetchone()
    return int(row[0] or 0)


def charge_counts(conn: sqlite3.Connection, account_id: str, message_ids: list[str]) -> dict[str, int]:
    """message id -> ledger charge rows, for the ids given (every one present, 0 if none)."""
    counts = dict.fromkeys(message_ids, 0)
    for txn_id, n in conn.execute(
        "SELECT txn_id, count(*) FROM ledger WHERE account_id = ? AND operation = ? GROUP BY txn_id",
        (account_id, CHARGE),
    ):
        if txn_id in counts:
            counts[str(txn_id)] = int(n)
    return counts


def declined_ids(conn: sqlite3.Connection, message_ids: list[str]) -> set[str]:
    wanted = set(message_ids)
    return {
        str(r[0])
        for r in conn.execute("SELECT DISTINCT txn_id FROM deliveries WHERE outcome = ?", (DECLINED,))
        if r[0] in wanted
    }
