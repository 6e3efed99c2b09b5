"""The HTTP bank's counter: one request in, the bank's two atomic phases, one Answer out.

In flight is a row, not memory. A write takes its key in a first short transaction
(`idempotency.begin`): the key row is stored `in_progress` with a lease (`locked_until`, on the
file's clock) and a random `lock_token`. The processing time (`--processing`, the delay fault)
passes outside any transaction. The second phase (`idempotency.complete`) is ONE transaction
that checks the token is still ours, applies the effect (the debit and its ledger row), records
the delivery and stores the response. So every worker and every process on the file answers a
retry of a held key with 409 and Retry-After; a worker killed mid-request leaves a lease that
lapses, and the retry after it takes the key over and processes once; a request whose lease
lapsed and was taken over commits nothing (the token no longer matches), so a lapsed lease can
never debit twice.

Every request may name its client with a `Client-Id` header (anonymous without it): the key
belongs to the client that first used it, and another client's request under it gets 422.

Times: the bank stores milliseconds; here wall-clock ms since the Unix epoch by default (the
file's `clock` is `wall`), or the app's virtual clock inside the app (`--serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from atm_tui.bank import core, idempotency, operations
from atm_tui.bank.core import Response, Withdrawal, canonical
from atm_tui.bank.idempotency import Delivery, Effect, Lease
from atm_tui.http.problems import PROBLEM_JSON, PROBLEMS, Problem
from atm_tui.http.requests import OPERATION_OF, WITHDRAW

JSON = "application/json"
RETRY_AFTER_S = 1
DEFAULT_LEASE_MS = 5_000  # how long a key may stay in progress beyond its own processing time
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
                 clock: Callable[[], int] = wall_ms, processing_ms: int = 0,
                 lease_ms: int = DEFAULT_LEASE_MS, mode: core.Mode = "idempotent") -> None:
        self.conn = conn
        self.mode = mode  # `naive`: every delivery runs its effect, no key is checked (a teaching mode)
        self.ttl_ms = ttl_ms
        self.clock = clock
        self.processing_ms = processing_ms
        self.lease_ms = lease_ms
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
        return await self._run(self._status_sync, key, account_id)

    # -- writes ---------------------------------------------------------------------------------
    def _attempt(self, key: str) -> int:
        """This delivery's number: HTTP carries no attempt count, so count the arrivals so far."""
        row = self.conn.execute("SELECT count(*) FROM deliveries WHERE txn_id = ?", (key,)).fetchone()
        return int(row[0]) + 1

    def _request(self, operation: str, account_id: str, key: str, fields: dict[str, Any],
                 client: str) -> tuple[Delivery, Effect, Callable[[str], str], Callable[[], str]]:
        """The delivery, its effect, its 422 body and its 409 body."""
        attempt = self._attempt(key)
        if operation == WITHDRAW:
            req = Withdrawal(key, account_id, int(fields["amount"]), attempt, client)
            d = Delivery(account_id, key, key, req.fingerprint(), attempt, client)
            return (d, core.withdrawal_effect(req), lambda reason: core.rejected_body(req, reason),
                    lambda: core.in_progress_body(req))
        op = operations.build(operation, account_id, key, fields, attempt=attempt, client=client)
        d = Delivery(account_id, key, key, op.fingerprint, attempt, client)
        return (d, op.effect, lambda reason: operations.rejected_body(op, reason),
                lambda: operations.in_progress_body(op))

    def _begin_sync(self, operation: str, account_id: str, key: str, fields: dict[str, Any], client: str,
                    lease_ms: int, token: str) -> tuple[Delivery, Effect, Response | None, str]:
        self._require_account(account_id)
        d, effect, rejected, busy = self._request(operation, account_id, key, fields, client)
        now = self.clock()
        resp = idempotency.begin(self.conn, d, now, Lease(token, now + lease_ms), rejected=rejected)
        return d, effect, resp, busy()

    def _complete_sync(self, d: Delivery, effect: Effect, token: str) -> Response | None:
        return idempotency.complete(self.conn, d, effect, self.clock(), Lease(token, 0), ttl=self.ttl_ms)

    def _release_sync(self, d: Delivery, token: str) -> None:
        idempotency.release(self.conn, d, Lease(token, 0))

    def _naive_sync(self, operation: str, account_id: str, key: str, fields: dict[str, Any],
                    client: str) -> Response:
        self._require_account(account_id)
        now, attempt = self.clock(), self._attempt(key)
        if operation == WITHDRAW:
            req = Withdrawal(key, account_id, int(fields["amount"]), attempt, client)
            return core.withdraw(self.conn, req, now, ttl=self.ttl_ms, mode="naive")
        op = operations.build(operation, account_id, key, fields, attempt=attempt, client=client)
        return operations.handle(self.conn, op, now, ttl=self.ttl_ms, mode="naive")

    @staticmethod
    def fingerprint(operation: str, account_id: str, key: str, fields: dict[str, Any]) -> str:
        if operation == WITHDRAW:
            return core.fingerprint(WITHDRAW, account_id, int(fields["amount"]))
        return operations.build(operation, account_id, key, fields).fingerprint

    def _in_progress(self, key: str) -> Answer:
        _code, retry = status_line("in_progress", False)
        problem = Problem(REFUSALS[core.IN_PROGRESS], f"the first request with key {key!r} is still being"
                          f" processed; retry in {RETRY_AFTER_S} s with the same key and body",
                          {"key": key}, retry)
        return _problem_answer(problem, core.IN_PROGRESS, False)

    async def write(self, operation: str, account_id: str, key: str, fields: dict[str, Any],
                    *, delay_ms: int = 0, client: str = "") -> Answer:
        """One delivery of a write: phase 1 (take the key or answer), the work, phase 2 (commit)."""
        if self.mode == "naive":  # no key is checked: one transaction, the effect every time
            wait = delay_ms + self.processing_ms
            if wait > 0:
                await self._run(self._require_account, account_id)
                await asyncio.sleep(wait / 1000)
            done = await self._run(self._naive_sync, operation, account_id, key, fields, client)
            status, _none = status_line(done.status, False)  # naive: never a replay
            return Answer(status, done.body.encode(), done.outcome, headers={}, handled=True)
        token = f"{os.getpid()}:{secrets.token_hex(12)}"  # names the worker process holding the key
        lease_ms = self.lease_ms + self.processing_ms + delay_ms
        d, effect, resp, _busy = await self._run(self._begin_sync, operation, account_id, key, fields, client,
                                                 lease_ms, token)
        if resp is None:  # the key is ours until the lease lapses
            try:
                wait = delay_ms + self.processing_ms
                if wait > 0:
                    await asyncio.sleep(wait / 1000)
                resp = await self._run(self._complete_sync, d, effect, token)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._run(self._release_sync, d, token)
                raise
            if resp is None:  # our lease lapsed and a retry took the key over: nothing committed
                return self._in_progress(key)
        if resp.outcome == core.IN_PROGRESS:
            return self._in_progress(key)
        if resp.outcome == core.REJECTED:
            return _problem_answer(self._reused(key, resp.reason), core.REJECTED, True)
        status, headers = status_line(resp.status, resp.replayed)
        return Answer(status, resp.body.encode(), resp.outcome, resp.replayed, headers=headers, handled=True)

    @staticmethod
    def _reused(key: str, reason: str = core.REUSED) -> Problem:
        if reason == core.FOREIGN:
            return Problem("key-reused", f"key {key!r} belongs to another client (another Client-Id);"
                           " keys must be unique per client: use a new key", {"key": key})
        return Problem("key-reused", f"key {key!r} was already used for a different request; use a new key"
                       " for a new request, or resend the first one unchanged", {"key": key})
