"""The bank as the engine sees it: async calls, each one transaction on the store.

Two bridges run the same functions from `core.py`. `inline` calls them directly: a headless run
owns its event loop, so nothing waits on it. `aiosqlite` runs each whole transaction on
aiosqlite's connection thread in one hop, so the Textual UI never blocks on the disk.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar

import aiosqlite

from atm_tui.bank import clients, core
from atm_tui.bank.core import Mode, Response, Withdrawal
from atm_tui.bank.queries import OperationRow, ledger_doubles, operation_rows, repeated_operations
from atm_tui.bank.store import (
    StoreConfig,
    StoreError,
    check_path,
    connect,
    describe_error,
    prepare,
    remove_new_file,
)

Bridge = Literal["inline", "aiosqlite"]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeyRow:
    key: str
    status: str
    hits: int
    deliveries: int
    debits: int
    first_seen: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class BankSnapshot:
    """What the bank pane shows, read back from SQLite after a commit."""

    balance: int
    opening_balance: int
    ledger: list[tuple[int, str, int, int, int]] = field(default_factory=list)
    keys: list[KeyRow] = field(default_factory=list)
    deliveries: list[tuple[int, str, int, str, int]] = field(default_factory=list)
    ledger_count: int = 0
    key_count: int = 0
    delivery_count: int = 0
    # Over the whole file, not the rows listed: every id with more than one ledger row.
    repeated: list[tuple[str, int]] = field(default_factory=list)
    # payments / orders / ballots: (rows in all, the newest rows), only the tables in use.
    operations: dict[str, tuple[int, list[OperationRow]]] = field(default_factory=dict)
    repeated_operations: list[tuple[str, str, int]] = field(default_factory=list)
    # Who wrote the keys and debits in this file: the pane names them when there is more than one.
    clients: list[str] = field(default_factory=list)


def read_snapshot(conn: sqlite3.Connection, account_id: str, limit: int = 50) -> BankSnapshot:
    """Newest rows first; counts are exact however many rows are hidden."""
    acct = conn.execute(
        "SELECT balance, opening_balance FROM accounts WHERE id = ?", (account_id,)
    ).fetchone()
    balance, opening = (int(acct[0]), int(acct[1])) if acct else (0, 0)
    ledger = [
        (int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT id, txn_id, amount, balance_after, at FROM ledger ORDER BY id DESC LIMIT ?", (limit,)
        )
    ]
    keys = [
        KeyRow(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        for r in conn.execute(
            "SELECT k.key, k.status, k.hits,"
            " (SELECT count(*) FROM deliveries d WHERE d.txn_id = k.key),"
            " (SELECT count(*) FROM ledger l WHERE l.txn_id = k.key AND l.account_id = k.account_id),"
            " k.first_seen, k.expires_at"
            " FROM idempotency_keys k WHERE k.account_id = ? ORDER BY k.first_seen DESC, k.key DESC LIMIT ?",
            (account_id, limit),
        )
    ]
    deliveries = [
        (int(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]))
        for r in conn.execute(
            "SELECT id, txn_id, attempt, outcome, at FROM deliveries ORDER BY id DESC LIMIT ?", (limit,)
        )
    ]
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM idempotency_keys),"
        " (SELECT count(*) FROM deliveries)"
    ).fetchone()
    ledger_count, key_count, delivery_count = map(int, counts)
    return BankSnapshot(
        balance, opening, ledger, keys, deliveries, ledger_count, key_count, delivery_count,
        repeated=ledger_doubles(conn, account_id),
        operations=operation_rows(conn, account_id, limit),
        repeated_operations=repeated_operations(conn, account_id),
        clients=clients.writers(conn),
    )  # fmt: skip


def resume_point(conn: sqlite3.Connection, prefix: str = "T") -> tuple[int, int]:
    """(latest virtual time stored, highest transaction number used) so a reopened bank goes on."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT max(at) FROM deliveries), 0),"
        " coalesce((SELECT max(last_seen) FROM idempotency_keys), 0),"
        " coalesce((SELECT max(at) FROM ledger), 0))"
    ).fetchone()
    number = conn.execute(
        "SELECT max(CAST(substr(txn_id, ?) AS INTEGER)) FROM deliveries WHERE txn_id GLOB ?",
        (len(prefix) + 1, prefix + "[0-9]*"),
    ).fetchone()
    return int(row[0] or 0), int(number[0] or 0)


class Bank:
    """The bank service: one account, a mode, a key TTL; every method is one transaction."""

    def __init__(
        self,
        config: StoreConfig,
        *,
        mode: Mode = "idempotent",
        ttl: int = 86_400_000,
        bridge: Bridge = "inline",
    ) -> None:
        self.config = config
        self.mode: Mode = mode
        self.ttl = ttl
        self.bridge: Bridge = bridge
        self._conn: sqlite3.Connection | None = None
        self._aio: aiosqlite.Connection | None = None

    @property
    def account_id(self) -> str:
        return self.config.account_id

    async def open(self) -> Bank:
        existed = check_path(self.config.path)
        if self.bridge == "inline":
            try:
                self._conn = connect(self.config.path)
            except sqlite3.Error as exc:
                raise describe_error(self.config.path, exc) from None
        else:
            try:
                self._aio = await aiosqlite.connect(
                    self.config.path, isolation_level=None, check_same_thread=False, timeout=0.5
                )
            except sqlite3.Error as exc:
                raise describe_error(self.config.path, exc) from None
        try:
            await self.run(prepare, self.config, existed)
        except BaseException:
            await self.close()
            if not existed:
                remove_new_file(self.config.path)
            raise
        return self

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(connection, *args) as one unit on the bank's connection."""
        if self._conn is not None:
            return fn(self._conn, *args, **kwargs)
        if self._aio is not None:
            # aiosqlite's own queue: the whole transaction is one hop to its thread.
            result: T = await self._aio._execute(fn, self._aio._conn, *args, **kwargs)
            return result
        raise StoreError(f"database path {self.config.path}: the bank is closed")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._aio is not None:
            await self._aio.close()
            self._aio = None

    async def withdraw(
        self, req: Withdrawal, now: int, gap_hook: core.GapHook | None = None
    ) -> Response:
        return await self.run(core.withdraw, req, now, mode=self.mode, ttl=self.ttl, gap_hook=gap_hook)

    async def record_arrival(self, req: Withdrawal, outcome: str, now: int) -> None:
        await self.run(core.record_arrival, req, outcome, now)

    async def balance(self) -> int:
        return await self.run(core.read_balance, self.account_id)

    async def status(self, txn_id: str) -> str:
        return await self.run(core.read_status, self.account_id, txn_id)

    async def snapshot(self, limit: int = 50) -> BankSnapshot:
        return await self.run(read_snapshot, self.account_id, limit)

    async def resume_point(self) -> tuple[int, int]:
        return await self.run(resume_point)

    async def reset(self, opening_balance: int | None = None) -> None:
        """Empty every table and reopen the account at its opening balance (the UI's ctrl+r)."""
        cfg = self.config
        balance = cfg.opening_balance if opening_balance is None else opening_balance
        await self.run(prepare, dataclasses.replace(cfg, opening_balance=balance, fresh=True), True)

    async def synchronous(self) -> str:
        def read(conn: sqlite3.Connection) -> str:
            level = int(conn.execute("PRAGMA synchronous").fetchone()[0])
            return {0: "off", 1: "normal", 2: "full", 3: "extra"}.get(level, str(level))

        return await self.run(read)
