"""The log pipeline's consumer group of one: read, charge the bank, commit; fenced by epoch."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from atm_tui.bank import pipeline_store as store
from atm_tui.bank.core import DECLINED, PROCESSED
from atm_tui.bank.pipeline_store import Charge, ChargeResult, ConsumerMode, OffsetCommit
from atm_tui.bank.service import Bank
from atm_tui.sim.events import RolledBack, StoreFailed
from atm_tui.sim.pipeline.broker import Broker, Record
from atm_tui.sim.pipeline.config import Decide, PipelineConfig
from atm_tui.sim.pipeline.events import (
    Charged,
    ChargeDeclined,
    ChargeSkipped,
    CommitRefused,
    ConsumerCrashed,
    ConsumerEvicted,
    ConsumerStalled,
    ConsumerStarted,
    Fetched,
    KeyExpiredCharged,
    OffsetCommitted,
    PositionReset,
)
from atm_tui.sim.world import World


class ConsumerCrash(Exception):
    """The consumer process died at a crash point; the open transaction rolls back."""


@dataclass(slots=True)
class ConsumerInstance:
    """One member of the group: its epoch and its position in memory (lost when it dies)."""

    epoch: int
    positions: list[int]
    alive: bool = True
    busy: bool = False
    stalled: bool = False
    rr: int = 0  # next partition to look at, round robin
    # The record fetched and not yet written to the bank (message id, delivery number): if the
    # member dies or is fenced first, that delivery never reaches the file, and the trace says so.
    unwritten: tuple[str, int] | None = None


class Consumer:
    """A consumer group of one: the member reads, charges, commits; a replacement fences it."""

    def __init__(
        self, world: World, config: PipelineConfig, broker: Broker, bank: Bank, decide: Decide
    ) -> None:
        self.world = world
        self.config = config
        self.broker = broker
        self.bank = bank
        self._decide = decide
        self.current: ConsumerInstance | None = None
        self.committed = [0] * config.partitions
        self.deliveries: dict[str, int] = {}  # message id -> deliveries so far, every member
        self.in_hand: Record | None = None  # the record the current member is working on
        self.starting = False
        broker.on_append.append(self._wake)

    @property
    def mode(self) -> ConsumerMode:
        return self.config.consumer

    async def start(self) -> None:
        """Join the group: a new epoch in the bank's database, positions from committed offsets."""
        world, cfg = self.world, self.config
        try:
            epoch, offsets = await self.bank.run(
                store.join_group, cfg.group, cfg.topic, cfg.partitions, world.now
            )
        except sqlite3.Error as exc:
            self.store_failed(exc, None, "joining the group")
            raise
        inst = ConsumerInstance(epoch, list(offsets))
        self.current, self.starting, self.in_hand = inst, False, None
        self.committed = list(offsets)
        world.emit(ConsumerStarted(world.now, "", 0, epoch, self.mode))
        for p, offset in enumerate(offsets):
            world.emit(PositionReset(world.now, "", 0, p, offset, epoch))
        self._poll(inst)

    def schedule_start(self, delay: int) -> None:
        if not self.starting:
            self.starting = True
            self.world.at_async(self.world.now + delay, self.start)

    def _wake(self, rec: Record) -> None:
        inst = self.current
        if inst is not None and inst.alive and not inst.busy:
            inst.busy = True
            self.world.at(self.world.now, self._poll, inst)

    def _poll(self, inst: ConsumerInstance) -> None:
        if not inst.alive or inst is not self.current:
            return
        parts = self.config.partitions
        for i in range(parts):
            p = (inst.rr + i) % parts
            if inst.positions[p] < self.broker.end_offset(p):
                break
        else:
            inst.busy = False  # caught up; the next append wakes it
            return
        inst.rr = (p + 1) % parts
        inst.busy = True
        rec = self.broker.log[p][inst.positions[p]]
        inst.positions[p] = rec.offset + 1
        self.world.at(self.world.now + self.config.fetch_latency, self._deliver, inst, rec)

    def _deliver(self, inst: ConsumerInstance, rec: Record) -> None:
        if not inst.alive:
            return
        n = self.deliveries.get(rec.message_id, 0) + 1
        self.deliveries[rec.message_id] = n
        self.in_hand = rec
        inst.unwritten = (rec.message_id, n)
        self.world.emit(Fetched(self.world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch))
        self.world.at_async(self.world.now + self.config.processing, self._apply, inst, rec, n)

    def _charge(self, rec: Record, n: int) -> Charge:
        return Charge(rec.message_id, self.bank.account_id, rec.amount, rec.partition, rec.offset, n,
                      self.config.group)

    def _commit_of(self, inst: ConsumerInstance, rec: Record) -> OffsetCommit:
        return OffsetCommit(self.config.group, self.config.topic, rec.partition, rec.offset + 1, inst.epoch)

    async def _apply(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        if not inst.alive:
            return
        if self.mode == "transactional":
            if self._decide("zombie"):
                # It froze with the record in hand; its transaction has not begun.
                self._stall(inst, rec, n)
                return
            await self._transact(inst, rec, n)
            return
        mode = self.mode
        try:
            result = await self.bank.run(
                store.charge, self._charge(rec, n), self.world.now, mode=mode, ttl=self.config.ttl
            )
        except sqlite3.Error as exc:
            self.store_failed(exc, inst, "the charge", rec.message_id, n)
            raise
        inst.unwritten = None
        self._emit_outcome(inst, rec, n, result)
        if self._decide("crash"):
            self._crash(inst, "after the charge, before the offset commit", rec.message_id, n)
            return
        if self._decide("zombie"):
            self._stall(inst, rec, n)
            return
        self.world.at_async(self.world.now + self.config.commit_delay, self._commit, inst, rec, n)

    async def _transact(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        """Transactional mode: key check, charge and offset in one transaction, fenced by epoch."""
        world = self.world
        crash_here = False

        def before_commit() -> None:
            nonlocal crash_here
            if self._decide("crash"):
                crash_here = True
                raise ConsumerCrash("inside the charge's transaction, before COMMIT")

        commit = self._commit_of(inst, rec)
        try:
            result = await self.bank.run(
                store.charge,
                self._charge(rec, n),
                world.now,
                mode="transactional",
                commit=commit,
                ttl=self.config.ttl,
                before_commit=before_commit,
            )
        except ConsumerCrash as exc:
            if not crash_here:
                raise
            self._crash(inst, str(exc), rec.message_id, n)
            return
        except sqlite3.Error as exc:
            self.store_failed(exc, inst, "the charge's transaction", rec.message_id, n)
            raise
        if result.outcome == store.FENCED:
            self._fenced(inst, rec, n, result.current_epoch)
            return
        inst.unwritten = None
        self._emit_outcome(inst, rec, n, result)
        self._committed(inst, rec, n, with_charge=True)

    async def _commit(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        if not inst.alive:
            return
        try:
            result = await self.bank.run(store.commit_offset, self._commit_of(inst, rec), self.world.now)
        except sqlite3.Error as exc:
            self.store_failed(exc, inst, "the offset commit", rec.message_id, n)
            raise
        if not result.ok:
            self._fenced(inst, rec, n, result.current_epoch)
            return
        self._committed(inst, rec, n, with_charge=False)

    def _committed(self, inst: ConsumerInstance, rec: Record, n: int, *, with_charge: bool) -> None:
        world = self.world
        self.committed[rec.partition] = rec.offset + 1
        world.emit(
            OffsetCommitted(
                world.now, rec.message_id, n, rec.partition, rec.offset + 1, inst.epoch, with_charge
            )
        )
        if inst is self.current:
            self.in_hand = None
        self._poll(inst)

    def _fenced(self, inst: ConsumerInstance, rec: Record, n: int, current: int) -> None:
        """A zombie learns it is no longer a member; it stops (a real one would rejoin)."""
        world = self.world
        world.emit(
            CommitRefused(world.now, rec.message_id, n, rec.partition, rec.offset + 1, inst.epoch, current)
        )
        self._roll_back(inst, "fenced")
        inst.alive = False
        if inst is self.current:
            self.current = None
            self.schedule_start(self.config.restart)

    def _emit_outcome(self, inst: ConsumerInstance, rec: Record, n: int, r: ChargeResult) -> None:
        world = self.world
        if r.expired_key:
            world.emit(KeyExpiredCharged(world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch,
                                         self.config.ttl))
        if r.outcome in (PROCESSED, DECLINED):
            # A charge and a decline carry the same facts; only the event's kind differs.
            kind = Charged if r.outcome == PROCESSED else ChargeDeclined
            world.emit(
                kind(
                    world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch,
                    rec.amount, r.balance_after,
                )
            )
        else:
            world.emit(
                ChargeSkipped(world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch, r.hits)
            )

    def _crash(self, inst: ConsumerInstance, where: str, message_id: str = "", n: int = 0) -> None:
        inst.alive = False
        self.world.emit(ConsumerCrashed(self.world.now, message_id, n, inst.epoch, where))
        self._roll_back(inst, "with the crash")
        if inst is self.current:
            self.current = None
            self.in_hand = None
            self.schedule_start(self.config.restart)

    def _roll_back(self, inst: ConsumerInstance, where: str) -> None:
        """The member's fetched record never reached the file: say so, so counts match the file."""
        if inst.unwritten is not None:
            message_id, n = inst.unwritten
            inst.unwritten = None
            self.world.emit(RolledBack(self.world.now, message_id, n, "charge", where))

    def store_failed(
        self, exc: sqlite3.Error, inst: ConsumerInstance | None, where: str, message_id: str = "", n: int = 0
    ) -> None:
        """The policy for a transaction the file refused (another program holds its lock, say).

        It rolled back. The consumer dies, as a real one would, and its replacement joins after
        `restart` ms and reads again from the committed offset; if joining was what failed, it
        tries again after the same delay. Recorded in the trace; the caller gets the error too.
        """
        world = self.world
        world.emit(StoreFailed(world.now, message_id, n, f"consumer: {where}", str(exc)))
        if inst is not None:
            if inst.alive:
                self._crash(inst, "the bank's file refused its transaction", message_id, n)
        else:
            self.starting = False
            self.schedule_start(self.config.restart)

    def crash(self) -> bool:
        """Kill the current member now, wherever it is (the UI's `k`). False if none is running."""
        inst = self.current
        if inst is None:
            return False
        rec = self.in_hand
        if rec is None:
            self._crash(inst, "killed")
        else:
            self._crash(inst, "killed", rec.message_id, self.deliveries.get(rec.message_id, 0))
        return True

    def _stall(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        world, cfg = self.world, self.config
        inst.stalled = True
        until = world.now + cfg.stall
        world.emit(ConsumerStalled(world.now, rec.message_id, n, inst.epoch, until))
        world.at(world.now + cfg.session_timeout, self._evict, inst)
        world.at_async(until, self._wake_up, inst, rec, n)

    def _evict(self, inst: ConsumerInstance) -> None:
        if inst is self.current and inst.alive and inst.stalled:
            self.world.emit(ConsumerEvicted(self.world.now, "", 0, inst.epoch))
            self.current = None
            self.in_hand = None
            self.schedule_start(0)

    async def _wake_up(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        """The pause ends; the member carries on as if nothing happened. Only the bank knows."""
        inst.stalled = False
        if not inst.alive:
            return
        if self.mode == "transactional":
            await self._transact(inst, rec, n)
        else:
            await self._commit(inst, rec, n)
