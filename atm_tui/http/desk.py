"""The HTTP bank's counter: one request in, the bank's one-transaction handler, one Answer out.

Why the 409 "in progress" lives in memory here, and not as an `in_progress` key row.
The bank's handler (`core.withdraw`, `operations.handle`) looks the key up, runs the effect and
stores the key's response in ONE `BEGIN IMMEDIATE` transaction. So a key row, once visible, is
always a finished result, and nothing a crash leaves behind can be "in progress": SIGKILL rolls
the open transaction back and the key is simply new again. A key row stored `in_progress` in a
first short transaction would survive such a crash and need a lease and a recovery step
(Brandur Leach's recovery points) to be unstuck, which is the split mode's gap again.

What does need saying "in progress" is a second request with the same key that arrives while
the first is still between its arrival and its commit (waiting for the bank's thread, or slowed
by the delay fault). That state is exactly "a request of this process holds the key", so it is
held in `in_flight`, checked and set on the event loop thread (no await between the two, hence
atomic), and released when the transaction has finished. The map dies with the process, as the
open transaction does: the two can never disagree. All SQLite work runs on ONE worker thread
over one connection, so transactions never contend with each other inside the server.

This is correct for one server process, which is what `atm-tui serve` runs. With several
processes on one file no debit could double either (the second `BEGIN IMMEDIATE` waits, then sees
the committed key and replays); only the courtesy 409 would turn into a replay.

Times: the bank stores milliseconds. The engine's are virtual ms from its run's start; here
they are wall-clock ms since the Unix epoch, so a key's `expires_at` is a real date.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from atm_tui.bank import core, operations
from atm_tui.bank.core import Response, Withdrawal, canonical
from atm_tui.http.problems import PROBLEM_JSON, PROBLEMS, Problem
from atm_tui.http.requests import OPERATION_OF, WITHDRAW

JSON = "application/json"
RETRY_AFTER_S = 1
T = TypeVar("T")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Answer:
    """What the bank answers one write request; `handled` means its transaction committed."""

    status: int
    body: bytes
    outcome: str
    replayed: bool = False
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    handled: bool = False


# The bank's answer to a delivery -> the problem slug the HTTP bank refuses it with.
REFUSALS = {core.IN_PROGRESS: "in-progress", core.REJECTED: "key-reused"}


def status_line(status: str, replayed: bool) -> tuple[int, dict[str, str]]:
    """The HTTP status and headers this server answers a write with, by the bank's answer.

    `status` is the bank's (approved, declined, in_progress, rejected). One table: `Desk.write`
    answers with it, and the `stripe` scenario draws the engine's replies with it.
    """
    if status in ("in_progress", "rejected"):
        slug = REFUSALS[core.IN_PROGRESS if status == "in_progress" else core.REJECTED]
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == "in_progress" else {}
        return PROBLEMS[slug][0], headers
    code = 201 if status == "approved" else 402
    return code, ({"Idempotent-Replayed": "true"} if replayed else {})


def request_line(operation: str, account_id: str) -> str:
    """The route a write is POSTed to: `POST /accounts/A-1001/withdrawals`."""
    name = next(n for n, op in OPERATION_OF.items() if op == operation)
    return f"POST /accounts/{account_id}/{name}"


def _problem_answer(problem: Problem, outcome: str, handled: bool) -> Answer:
    return Answer(problem.status, problem.body(), outcome, media_type=PROBLEM_JSON,
                  headers=problem.headers, handled=handled)


class Desk:
    """The bank behind the HTTP routes: its connection, its worker thread, the keys in flight."""

    def __init__(self, conn: sqlite3.Connection, *, ttl_ms: int = 86_400_000,
                 clock: Callable[[], int] = wall_ms) -> None:
        self.conn = conn
        self.ttl_ms = ttl_ms
        self.clock = clock
        self.in_flight: dict[tuple[str, str], str] = {}  # (account, key) -> fingerprint
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atm-http-bank")

    def close(self) -> None:
        """Wait for the transaction under way, if any; the connection stays the caller's."""
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.Error as exc:
            # The transaction rolled back: nothing happened, so the same key may be sent again.
            raise Problem("bank-busy", f"the bank's file could not be used ({exc}); retry with the same key",
                          headers={"Retry-After": str(RETRY_AFTER_S)}) from None

    # -- reads ----------------------------------------------------------------------------------
    def _has_account(self, account_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is not None

    def _require_account(self, account_id: str) -> None:
        if not self._has_account(account_id):
            raise Problem("unknown-account", f"there is no account {account_id!r}", {"account": account_id})

    def _balance_sync(self, account_id: str) -> bytes:
        self._require_account(account_id)
        balance = core.read_balance(self.conn, account_id)
        return canonical({"account": account_id, "balance": balance}).encode()

    async def balance(self, account_id: str) -> bytes:
        """`{"account": ..., "balance": ...}`: a read, so no key is needed."""
        return await self._run(self._balance_sync, account_id)

    def _status_sync(self, key: str, account_id: str | None) -> bytes:
        if account_id is None:
            rows = self.conn.execute(
                "SELECT account_id FROM idempotency_keys WHERE key = ?"
                " UNION SELECT account_id FROM ledger WHERE txn_id = ?", (key, key)).fetchall()
            if len(rows) > 1:
                names = ", ".join(sorted(str(r[0]) for r in rows))
                raise Problem("invalid-query", f"key {key!r} is used on accounts {names}; add ?account=ID")
            if not rows:
                raise self._unknown(key)
            account_id = str(rows[0][0])
        else:
            self._require_account(account_id)
        body = core.read_status(self.conn, account_id, key)
        if json.loads(body)["status"] == "not_found":
            raise self._unknown(key)
        return body.encode()

    @staticmethod
    def _unknown(key: str) -> Problem:
        return Problem("unknown-transaction",
                       f"no request with key {key!r} has been processed (or its key expired);"
                       " sending it again with the same key is safe", {"key": key})

    async def status(self, key: str, account_id: str | None = None) -> bytes:
        """The status query: what became of the request sent with `key`. A read."""
        for (account, held), _fp in self.in_flight.items():
            if held == key and account_id in (None, account):
                return canonical({"account": account, "status": "in_progress", "txn_id": key}).encode()
        return await self._run(self._status_sync, key, account_id)

    # -- writes ---------------------------------------------------------------------------------
    def _attempt(self, key: str) -> int:
        """This delivery's number: HTTP carries no attempt count, so count the arrivals so far."""
        row = self.conn.execute("SELECT count(*) FROM deliveries WHERE txn_id = ?", (key,)).fetchone()
        return int(row[0]) + 1

    def _arrival_sync(self, key: str, outcome: str) -> None:
        operations.record_arrival(self.conn, key, self._attempt(key), outcome, self.clock())

    def _write_sync(self, operation: str, account_id: str, key: str, fields: dict[str, Any]) -> Response:
        self._require_account(account_id)
        now = self.clock()
        attempt = self._attempt(key)
        if operation == WITHDRAW:
            req = Withdrawal(key, account_id, int(fields["amount"]), attempt)
            return core.withdraw(self.conn, req, now, ttl=self.ttl_ms)
        op = operations.build(operation, account_id, key, fields, attempt=attempt)
        return operations.handle(self.conn, op, now, ttl=self.ttl_ms)

    @staticmethod
    def fingerprint(operation: str, account_id: str, key: str, fields: dict[str, Any]) -> str:
        if operation == WITHDRAW:
            return core.fingerprint(WITHDRAW, account_id, int(fields["amount"]))
        return operations.build(operation, account_id, key, fields).fingerprint

    async def write(self, operation: str, account_id: str, key: str, fields: dict[str, Any],
                    *, delay_ms: int = 0) -> Answer:
        """One delivery of a write: 409 if the key is in flight, else the bank's transaction."""
        slot = (account_id, key)
        fp = self.fingerprint(operation, account_id, key, fields)
        held = self.in_flight.get(slot)
        if held is not None:
            if held == fp:
                await self._run(self._arrival_sync, key, core.IN_PROGRESS)
                _code, retry = status_line("in_progress", False)
                problem = Problem(REFUSALS[core.IN_PROGRESS], f"the first request with key {key!r} is still"
                                  f" being processed; retry in {RETRY_AFTER_S} s with the same key and body",
                                  {"key": key}, retry)
                return _problem_answer(problem, core.IN_PROGRESS, False)
            await self._run(self._arrival_sync, key, core.REJECTED)
            return _problem_answer(self._reused(key), core.REJECTED, False)
        self.in_flight[slot] = fp
        try:
            if delay_ms > 0:
                await self._run(self._require_account, account_id)
                await asyncio.sleep(delay_ms / 1000)
            resp = await self._run(self._write_sync, operation, account_id, key, fields)
        finally:
            self.in_flight.pop(slot, None)
        if resp.outcome == core.REJECTED:
            return _problem_answer(self._reused(key), core.REJECTED, True)
        status, headers = status_line(resp.status, resp.replayed)
        return Answer(status, resp.body.encode(), resp.outcome, resp.replayed, headers=headers, handled=True)

    @staticmethod
    def _reused(key: str) -> Problem:
        return Problem(REFUSALS[core.REJECTED], f"key {key!r} was already used for a different request;"
                       " use a new key for a new request, or resend the first one unchanged", {"key": key})
