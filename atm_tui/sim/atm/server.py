"""The bank as a network service: time to process, keys in flight, crashes, replies."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from atm_tui.bank import core, operations
from atm_tui.bank.core import BankCrash, Withdrawal
from atm_tui.bank.service import Bank
from atm_tui.sim.atm.config import BankTiming
from atm_tui.sim.atm.network import Message
from atm_tui.sim.events import (
    REQUEST,
    Crashed,
    Declined,
    Delivered,
    Dropped,
    InProgress,
    KeyExpired,
    Processed,
    Recovered,
    Rejected,
    Replayed,
    Replied,
    RolledBack,
    StoreFailed,
)
from atm_tui.sim.faults import FaultPoint
from atm_tui.sim.world import World

if TYPE_CHECKING:
    from atm_tui.sim.atm.compare import NaiveTwin

Reply = Callable[[Message], None]


class BankServer:
    """Receives deliveries, runs each through the bank's one transaction after `processing` ms."""

    def __init__(self, world: World, bank: Bank, timing: BankTiming, reply: Reply) -> None:
        self.world = world
        self.bank = bank
        self.timing = timing
        self._reply = reply
        # Keys whose first delivery is still being processed: key -> fingerprint. This is the
        # lock an open transaction holds; it lives in memory and dies with the process.
        self.in_flight: dict[str, str] = {}
        # Deliveries that arrived and wait for their transaction: (id, attempt, op). A crash
        # loses them before anything is written, and says so (RolledBack) so counts match the file.
        self.pending: list[tuple[str, int, str]] = []
        self.epoch = 0
        self.down_until = -1
        self.gap_crashes = FaultPoint()  # split mode: crashes armed between the debit and the key
        self.hard_crash = False
        self._last_failure: sqlite3.Error | None = None
        # Compare mode: a naive bank that gets every withdrawal delivery too; never replies.
        self.twin: NaiveTwin | None = None
        self.client = ""  # the client id of the ATM this bank serves (set by the engine)

    @property
    def crash_in_gap(self) -> int:
        """How many crashes in the gap are armed."""
        return self.gap_crashes.armed

    @crash_in_gap.setter
    def crash_in_gap(self, n: int) -> None:
        self.gap_crashes.armed = n

    def store_failed(self, exc: sqlite3.Error, txn_id: str, attempt: int, where: str) -> None:
        """The policy for a transaction the file refused: it rolled back, so the delivery is lost.

        Recorded in the trace, then the error goes on to the caller (the UI says so on screen; a
        headless run stops with one line). The key it held is freed by the caller's `finally`,
        so the ATM's retry of the same id gets through once the file is free.
        """
        if exc is not self._last_failure:  # raised through two steps, recorded once
            self._last_failure = exc
            self.world.emit(StoreFailed(self.world.now, txn_id, attempt, where, str(exc)))

    @property
    def down(self) -> bool:
        return self.world.now < self.down_until

    async def on_request(self, msg: Message, copy: int) -> None:
        try:
            await self._on_request(msg, copy)
        except sqlite3.Error as exc:
            self.store_failed(exc, msg.txn_id, msg.attempt, f"{msg.op} delivery")
            raise

    async def _on_request(self, msg: Message, copy: int) -> None:
        world = self.world
        if self.down:
            world.emit(Dropped(world.now, msg.txn_id, msg.attempt, REQUEST, "bank-down", msg.op))
            return
        world.emit(Delivered(world.now, msg.txn_id, msg.attempt, msg.op, copy))
        if msg.op == "balance":
            balance = await self.bank.balance()
            body = core.canonical({"account": self.bank.account_id, "balance": balance})
            self._send(Message("balance", msg.txn_id, msg.attempt, status="ok", body=body))
            return
        if msg.op == "status":
            body = await self.bank.status(msg.txn_id)
            self._send(Message("status", msg.txn_id, msg.attempt, status="ok", body=body))
            return
        if msg.op in operations.OPERATIONS:
            await self._on_operation(msg)
            return
        req = Withdrawal(msg.txn_id, self.bank.account_id, msg.amount, msg.attempt, msg.client or self.client)
        if self.twin is not None:
            await self.twin.deliver(req, world)
        if self.bank.mode != "naive":
            held = self.in_flight.get(req.txn_id)
            if held is not None:
                if held == req.fingerprint():
                    await self.bank.record_arrival(req, core.IN_PROGRESS, world.now)
                    world.emit(InProgress(world.now, req.txn_id, req.attempt))
                    self._send(Message("withdraw", req.txn_id, req.attempt, status="in_progress",
                                       body=core.in_progress_body(req)))
                else:
                    await self.bank.record_arrival(req, core.REJECTED, world.now)
                    world.emit(Rejected(world.now, req.txn_id, req.attempt, core.REUSED))
                    self._send(Message("withdraw", req.txn_id, req.attempt, status="rejected",
                                       body=core.rejected_body(req)))
                return
            self.in_flight[req.txn_id] = req.fingerprint()
        if self.timing.processing <= 0:
            await self._process(req, self.epoch)
        else:
            self.pending.append((req.txn_id, req.attempt, "withdraw"))
            world.at_async(world.now + self.timing.processing, self._process, req, self.epoch)

    async def _on_operation(self, msg: Message) -> None:
        """A payment, order or vote: the same steps as a withdrawal, through the generic handler.

        The request body is JSON; an `idempotency_key` field in it makes the request keyed.
        """
        world = self.world
        fields = json.loads(msg.body)
        keyless = "idempotency_key" not in fields
        op = operations.build(msg.op, self.bank.account_id, msg.txn_id, fields, keyless=keyless,
                              attempt=msg.attempt, client=self.client)
        if self.bank.mode != "naive" and op.key is not None:
            held = self.in_flight.get(op.key)
            if held is not None:
                if held == op.fingerprint:
                    outcome, status, body = core.IN_PROGRESS, "in_progress", operations.in_progress_body(op)
                    world.emit(InProgress(world.now, op.label, op.attempt))
                else:
                    outcome, status, body = core.REJECTED, "rejected", operations.rejected_body(op)
                    world.emit(Rejected(world.now, op.label, op.attempt, core.REUSED))
                await self.bank.run(operations.record_arrival, op.label, op.attempt, outcome, world.now,
                                    self.client)
                self._send(Message(op.name, op.label, op.attempt, status=status, body=body))
                return
            self.in_flight[op.key] = op.fingerprint
        if self.timing.processing <= 0:
            await self._process_operation(op, self.epoch)
        else:
            self.pending.append((op.label, op.attempt, op.name))
            world.at_async(world.now + self.timing.processing, self._process_operation, op, self.epoch)

    async def _process_operation(self, op: operations.Operation, epoch: int) -> None:
        world = self.world
        if epoch != self.epoch:
            return  # this work died with the crash
        self._started(op.label, op.attempt, op.name)
        try:
            resp = await self.bank.run(
                operations.handle, op, world.now, mode=self.bank.mode, ttl=self.bank.ttl, gap_hook=self._gap
            )
        except BankCrash as exc:
            self.crash(str(exc), op.label, op.attempt)
            return
        except sqlite3.Error as exc:
            self.store_failed(exc, op.label, op.attempt, f"{op.name} transaction")
            raise
        finally:
            if epoch == self.epoch and op.key is not None:
                self.in_flight.pop(op.key, None)
        self._emit_result(op.label, op.attempt, resp)
        body = operations.in_progress_body(op) if resp.outcome == core.IN_PROGRESS else resp.body
        self._send(Message(op.name, op.label, op.attempt, status=resp.status, body=body,
                           replayed=resp.replayed))

    def _emit_result(self, label: str, attempt: int, resp: core.Response) -> None:
        """The trace's account of one handled delivery, the same events for every operation."""
        world = self.world
        if resp.expired_key:
            world.emit(KeyExpired(world.now, label, attempt, self.bank.ttl))
        data = json.loads(resp.body)
        amount = int(data.get("amount", 0))
        if resp.outcome == core.PROCESSED:
            world.emit(Processed(world.now, label, attempt, amount, resp.balance_after or 0, resp.body))
        elif resp.outcome == core.DECLINED:
            world.emit(Declined(world.now, label, attempt, amount, resp.balance_after or 0, resp.body))
        elif resp.outcome == core.REPLAYED:
            world.emit(Replayed(world.now, label, attempt, resp.hits, resp.body))
        elif resp.outcome == core.REJECTED:
            world.emit(Rejected(world.now, label, attempt, resp.reason))
        elif resp.outcome == core.IN_PROGRESS:
            world.emit(InProgress(world.now, label, attempt))

    def _gap(self, txn_id: str) -> None:
        """Between split mode's two transactions: the debit is committed, the key is not."""
        if self.gap_crashes.take_one_shot():
            if self.hard_crash:
                os.kill(os.getpid(), signal.SIGKILL)
            raise BankCrash(f"between the debit and storing key {txn_id}")

    async def _process(self, req: Withdrawal, epoch: int) -> None:
        world = self.world
        if epoch != self.epoch:
            return  # this work died with the crash
        self._started(req.txn_id, req.attempt, "withdraw")
        try:
            resp = await self.bank.withdraw(req, world.now, self._gap)
        except BankCrash as exc:
            self.crash(str(exc), req.txn_id, req.attempt)
            return
        except sqlite3.Error as exc:
            self.store_failed(exc, req.txn_id, req.attempt, "withdrawal transaction")
            raise
        finally:
            if epoch == self.epoch:
                self.in_flight.pop(req.txn_id, None)
        if resp.expired_key:
            world.emit(KeyExpired(world.now, req.txn_id, req.attempt, self.bank.ttl))
        if resp.outcome == core.PROCESSED:
            after = resp.balance_after or 0
            world.emit(Processed(world.now, req.txn_id, req.attempt, req.amount, after, resp.body))
        elif resp.outcome == core.DECLINED:
            balance = resp.balance_after or 0
            world.emit(Declined(world.now, req.txn_id, req.attempt, req.amount, balance, resp.body))
        elif resp.outcome == core.REPLAYED:
            world.emit(Replayed(world.now, req.txn_id, req.attempt, resp.hits, resp.body))
        elif resp.outcome == core.REJECTED:
            world.emit(Rejected(world.now, req.txn_id, req.attempt, resp.reason))
        elif resp.outcome == core.IN_PROGRESS:  # held by a request of another process on the file
            world.emit(InProgress(world.now, req.txn_id, req.attempt))
        body = core.in_progress_body(req) if resp.outcome == core.IN_PROGRESS else resp.body
        self._send(Message("withdraw", req.txn_id, req.attempt, status=resp.status, body=body,
                           replayed=resp.replayed))

    def _started(self, txn_id: str, attempt: int, op: str) -> None:
        """A pending delivery's transaction begins: from here its fate is the transaction's."""
        try:
            self.pending.remove((txn_id, attempt, op))
        except ValueError:
            pass  # processed at once (no processing time): it was never pending

    def crash(self, where: str, txn_id: str = "", attempt: int = 0) -> None:
        """The process dies: in-flight work and locks vanish; it restarts after `restart` ms."""
        world = self.world
        self.epoch += 1
        self.in_flight.clear()
        self.down_until = world.now + self.timing.restart
        world.emit(Crashed(world.now, txn_id, attempt, where))
        lost, self.pending = self.pending, []
        for label, n, op in lost:
            world.emit(RolledBack(world.now, label, n, op, "with the crash"))
        world.at(self.down_until, self._recover, self.epoch)

    def _recover(self, epoch: int) -> None:
        if epoch == self.epoch:
            self.world.emit(Recovered(self.world.now, "", 0))

    def _send(self, msg: Message) -> None:
        self.world.emit(Replied(self.world.now, msg.txn_id, msg.attempt, msg.op, msg.status, msg.replayed))
        self._reply(msg)
