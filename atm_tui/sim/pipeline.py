"""The log pipeline: a payment service producing to a broker's log, one consumer charging the bank.

Kafka's exactly-once, small enough to watch. The producer retries when an acknowledgement is
lost; with idempotence on, every batch carries (producer id, epoch, sequence) and the broker drops
a batch it already holds (it remembers the last 5 per producer and partition). A consumer group
of one reads from its committed offset, charges the bank per message, then commits; a crash in
between re-delivers, a paused member is replaced and fenced by epoch. Runs on the engine's World:
virtual time, the one seeded RNG, every step an event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from atm_tui.bank import pipeline_store as store
from atm_tui.bank.core import DECLINED, PROCESSED
from atm_tui.bank.pipeline_store import Charge, ChargeResult, ConsumerMode, OffsetCommit
from atm_tui.bank.service import Bank, Bridge, resume_point
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline_events import (
    Acked,
    AckLost,
    Appended,
    Charged,
    ChargeDeclined,
    ChargeSkipped,
    CommitRefused,
    ConsumerCrashed,
    ConsumerEvicted,
    ConsumerStalled,
    ConsumerStarted,
    DuplicateDropped,
    Fetched,
    OffsetCommitted,
    PositionReset,
    Produced,
    ProduceRefused,
    ProducerGaveUp,
    ProducerStarted,
    ProduceSent,
    ProduceTimedOut,
)
from atm_tui.sim.world import World

Fault = Literal["lost_ack", "crash", "zombie"]
FAULTS: tuple[Fault, ...] = ("lost_ack", "crash", "zombie")
REMEMBERED_BATCHES = 5  # Kafka's broker keeps the last 5 batches per producer and partition
NO_PRODUCER = -1  # Kafka's producer id (and epoch, and sequence) of a non-idempotent producer


@dataclass(slots=True)
class PipelineConfig:
    """Every knob of a pipeline run. Times are virtual milliseconds; probabilities 0..1."""

    seed: int = 0
    messages: int = 20
    amount: int = 500
    partitions: int = 1
    producer_idempotent: bool = True
    consumer: ConsumerMode = "idempotent"
    lost_ack: float = 0.0
    crash_before_commit: float = 0.0
    zombie: float = 0.0
    produce_every: int = 200  # the payment service creates a message this often
    latency: int = 50  # producer <-> broker, each way
    request_timeout: int = 1_000
    retry_backoff: int = 100
    max_attempts: int = 10
    max_in_flight: int = 5
    fetch_latency: int = 50
    processing: int = 100
    commit_delay: int = 50  # naive/idempotent: the gap between the charge and the offset commit
    restart: int = 2_000
    session_timeout: int = 3_000  # a member silent this long is replaced
    stall: int = 6_000  # how long a zombie is frozen (longer than the session timeout)
    ttl: int = 86_400_000
    topic: str = "payments"
    group: str = "billing"
    producer_name: str = "payment-service"
    prefix: str = "M"
    first_id: int = 1


# -- the broker ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Record:
    """One entry of a partition's log. The log is append-only; an offset never changes."""

    partition: int
    offset: int
    message_id: str
    amount: int
    producer_id: int
    epoch: int
    seq: int
    t: int


@dataclass(frozen=True, slots=True)
class Batch:
    """What the producer sends: one message, with its idempotence header (or -1s)."""

    message_id: str
    amount: int
    partition: int
    producer_id: int
    epoch: int
    seq: int


@dataclass(frozen=True, slots=True)
class ProduceResult:
    status: str  # appended | duplicate | fenced | out_of_order
    offset: int = -1


@dataclass(slots=True)
class _ProducerState:
    """The broker's memory of one producer on one partition: its epoch and last batches."""

    epoch: int
    recent: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=REMEMBERED_BATCHES))


class Broker:
    """One topic in memory. It deduplicates only what an idempotent producer lets it recognise."""

    def __init__(self, world: World, partitions: int) -> None:
        self.world = world
        self.log: list[list[Record]] = [[] for _ in range(partitions)]
        self._epochs: dict[int, int] = {}  # producer id -> current epoch
        self._ids: dict[str, int] = {}  # producer name -> producer id
        self._next_pid = 1000
        self._state: dict[tuple[int, int], _ProducerState] = {}
        self.on_append: list[Callable[[Record], None]] = []

    def init_producer(self, name: str) -> tuple[int, int]:
        """Kafka's InitProducerId: the same name gets the same id and the next epoch."""
        pid = self._ids.get(name)
        if pid is None:
            pid = self._ids[name] = self._next_pid
            self._next_pid += 1
            self._epochs[pid] = 0
        else:
            self._epochs[pid] += 1
        return pid, self._epochs[pid]

    def end_offset(self, partition: int) -> int:
        return len(self.log[partition])

    def produce(self, b: Batch, attempt: int) -> ProduceResult:
        world = self.world
        if b.producer_id != NO_PRODUCER:
            current = self._epochs.get(b.producer_id, -1)
            if b.epoch < current:
                world.emit(
                    ProduceRefused(
                        world.now, b.message_id, attempt, b.partition, b.producer_id, b.epoch, b.seq, "fenced"
                    )
                )
                return ProduceResult("fenced")
            key = (b.producer_id, b.partition)
            st = self._state.get(key)
            if st is None or b.epoch > st.epoch:
                st = self._state[key] = _ProducerState(b.epoch)
            for seq, offset in st.recent:
                if seq == b.seq:
                    world.emit(
                        DuplicateDropped(
                            world.now,
                            b.message_id,
                            attempt,
                            b.partition,
                            offset,
                            b.producer_id,
                            b.epoch,
                            b.seq,
                        )
                    )
                    return ProduceResult("duplicate", offset)
            expected = st.recent[-1][0] + 1 if st.recent else 0
            if b.seq != expected:
                # Older than the 5 remembered, or a gap: Kafka's OutOfOrderSequence.
                world.emit(
                    ProduceRefused(
                        world.now,
                        b.message_id,
                        attempt,
                        b.partition,
                        b.producer_id,
                        b.epoch,
                        b.seq,
                        "out_of_order",
                    )
                )
                return ProduceResult("out_of_order")
        log = self.log[b.partition]
        rec = Record(b.partition, len(log), b.message_id, b.amount, b.producer_id, b.epoch, b.seq, world.now)
        log.append(rec)
        if b.producer_id != NO_PRODUCER:
            self._state[(b.producer_id, b.partition)].recent.append((b.seq, rec.offset))
        world.emit(
            Appended(world.now, b.message_id, attempt, b.partition, rec.offset, b.producer_id, b.epoch, b.seq)
        )
        for fn in self.on_append:
            fn(rec)
        return ProduceResult("appended", rec.offset)


# -- the producer ----------------------------------------------------------------------------------
@dataclass(slots=True)
class Outgoing:
    """A message the payment service has not yet seen acknowledged (its outbox entry)."""

    message_id: str
    amount: int
    partition: int
    seq: int = -1
    attempt: int = 0
    timer: int = 0  # bumped to cancel the outstanding timeout or resend
    acked: bool = False


Decide = Callable[[Fault], bool]


class Producer:
    """The payment service's producer: up to `max_in_flight` batches per partition, retries."""

    def __init__(self, world: World, config: PipelineConfig, broker: Broker, decide: Decide) -> None:
        self.world = world
        self.config = config
        self.broker = broker
        self._decide = decide
        self.idempotent = config.producer_idempotent
        self.instance = 0
        self.up = False
        self.producer_id = NO_PRODUCER
        self.epoch = NO_PRODUCER
        parts = config.partitions
        self.next_seq = [0] * parts
        self.queue: list[deque[Outgoing]] = [deque() for _ in range(parts)]
        self.in_flight: list[list[Outgoing]] = [[] for _ in range(parts)]
        self.outbox: dict[str, Outgoing] = {}

    def start(self) -> None:
        """A new instance: a new epoch from the broker; unacknowledged messages are sent again."""
        self.instance += 1
        self.idempotent = self.config.producer_idempotent
        if self.idempotent:
            self.producer_id, self.epoch = self.broker.init_producer(self.config.producer_name)
        else:
            self.producer_id, self.epoch = NO_PRODUCER, NO_PRODUCER
        self.up = True
        self.next_seq = [0] * self.config.partitions
        self.in_flight = [[] for _ in range(self.config.partitions)]
        self.queue = [deque() for _ in range(self.config.partitions)]
        for out in self.outbox.values():
            out.seq, out.attempt, out.timer = -1, 0, out.timer + 1
            self.queue[out.partition].append(out)
        self.world.emit(ProducerStarted(self.world.now, "", 0, self.producer_id, self.epoch, self.idempotent))
        for p in range(self.config.partitions):
            self._pump(p)

    def stop(self) -> None:
        """The process dies: whatever it had in flight is forgotten by it (not by the broker)."""
        self.instance += 1
        self.up = False

    def enqueue(self, message_id: str, amount: int, partition: int) -> None:
        out = Outgoing(message_id, amount, partition)
        self.outbox[message_id] = out
        self.queue[partition].append(out)
        if self.up:
            self._pump(partition)

    def _pump(self, p: int) -> None:
        queue, flying, window = self.queue[p], self.in_flight[p], self.config.max_in_flight
        while queue and len(flying) < window:
            # The broker remembers 5 batches, so no send may run more than 5 sequence numbers
            # ahead of the oldest one still unacknowledged (it may be waiting for its resend).
            if self.idempotent and flying and self.next_seq[p] - flying[0].seq >= window:
                break
            out = queue.popleft()
            if self.idempotent:
                out.seq = self.next_seq[p]
                self.next_seq[p] += 1
            flying.append(out)
            self._send(out)

    def _send(self, out: Outgoing) -> None:
        world, cfg = self.world, self.config
        out.attempt += 1
        out.timer += 1
        seq = out.seq if self.idempotent else NO_PRODUCER
        batch = Batch(out.message_id, out.amount, out.partition, self.producer_id, self.epoch, seq)
        world.emit(
            ProduceSent(
                world.now, out.message_id, out.attempt, out.partition, self.producer_id, self.epoch, seq
            )
        )
        # One connection per broker: sends arrive in order (fixed latency, ties keep their order).
        world.at(world.now + cfg.latency, self._arrive, batch, out, out.attempt, self.instance)
        world.at(world.now + cfg.request_timeout, self._timeout, out, out.timer, self.instance)

    def _arrive(self, batch: Batch, out: Outgoing, attempt: int, instance: int) -> None:
        world = self.world
        result = self.broker.produce(batch, attempt)
        if result.status in ("appended", "duplicate") and self._decide("lost_ack"):
            world.emit(AckLost(world.now, batch.message_id, attempt, batch.partition, result.offset))
            return
        world.at(world.now + self.config.latency, self._on_response, out, attempt, instance, result)

    def _on_response(self, out: Outgoing, attempt: int, instance: int, result: ProduceResult) -> None:
        if instance != self.instance or out.acked:
            return  # an answer to a dead instance, or to an attempt already settled
        if result.status in ("fenced", "out_of_order"):
            # Fatal for this instance (Kafka closes such a producer): start a new one, which
            # gets a new epoch and sends every unacknowledged message again.
            self.stop()
            self.world.at(self.world.now + self.config.restart, self.start)
            return
        out.acked = True
        out.timer += 1
        self._settle(out)
        self.world.emit(
            Acked(
                self.world.now,
                out.message_id,
                attempt,
                out.partition,
                result.offset,
                result.status == "duplicate",
            )
        )
        self._pump(out.partition)

    def _settle(self, out: Outgoing) -> None:
        self.outbox.pop(out.message_id, None)
        flying = self.in_flight[out.partition]
        if out in flying:
            flying.remove(out)

    def _timeout(self, out: Outgoing, timer: int, instance: int) -> None:
        world = self.world
        if instance != self.instance or out.acked or timer != out.timer:
            return
        world.emit(ProduceTimedOut(world.now, out.message_id, out.attempt, out.partition))
        if out.attempt >= self.config.max_attempts:
            world.emit(ProducerGaveUp(world.now, out.message_id, out.attempt, out.partition))
            self._settle(out)
            self._pump(out.partition)
            return
        out.timer += 1
        world.at(world.now + self.config.retry_backoff, self._resend, out, out.timer, instance)

    def _resend(self, out: Outgoing, timer: int, instance: int) -> None:
        if instance == self.instance and not out.acked and timer == out.timer:
            self._send(out)


# -- the consumer ----------------------------------------------------------------------------------
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
        epoch, offsets = await self.bank.run(
            store.join_group, cfg.group, cfg.topic, cfg.partitions, world.now
        )
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
        self.world.emit(Fetched(self.world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch))
        self.world.at_async(self.world.now + self.config.processing, self._apply, inst, rec, n)

    def _charge(self, rec: Record, n: int) -> Charge:
        return Charge(rec.message_id, self.bank.account_id, rec.amount, rec.partition, rec.offset, n)

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
        result = await self.bank.run(
            store.charge, self._charge(rec, n), self.world.now, mode=mode, ttl=self.config.ttl
        )
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
        if result.outcome == store.FENCED:
            self._fenced(inst, rec, n, result.current_epoch)
            return
        self._emit_outcome(inst, rec, n, result)
        self._committed(inst, rec, n, with_charge=True)

    async def _commit(self, inst: ConsumerInstance, rec: Record, n: int) -> None:
        if not inst.alive:
            return
        result = await self.bank.run(store.commit_offset, self._commit_of(inst, rec), self.world.now)
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
        inst.alive = False
        if inst is self.current:
            self.current = None
            self.schedule_start(self.config.restart)

    def _emit_outcome(self, inst: ConsumerInstance, rec: Record, n: int, r: ChargeResult) -> None:
        world = self.world
        if r.outcome == PROCESSED:
            world.emit(
                Charged(
                    world.now,
                    rec.message_id,
                    n,
                    rec.partition,
                    rec.offset,
                    inst.epoch,
                    rec.amount,
                    r.balance_after,
                )
            )
        elif r.outcome == DECLINED:
            world.emit(
                ChargeDeclined(
                    world.now,
                    rec.message_id,
                    n,
                    rec.partition,
                    rec.offset,
                    inst.epoch,
                    rec.amount,
                    r.balance_after,
                )
            )
        else:
            world.emit(
                ChargeSkipped(world.now, rec.message_id, n, rec.partition, rec.offset, inst.epoch, r.hits)
            )

    def _crash(self, inst: ConsumerInstance, where: str, message_id: str = "", n: int = 0) -> None:
        inst.alive = False
        self.world.emit(ConsumerCrashed(self.world.now, message_id, n, inst.epoch, where))
        if inst is self.current:
            self.current = None
            self.in_hand = None
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


# -- the whole pipeline ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PipelineView:
    """What a pipeline pane shows, from memory: the log, the consumer, what is in flight."""

    log: list[list[Record]]
    positions: list[int] | None  # the current member's next offsets; None while no member runs
    committed: list[int]
    epoch: int | None
    consumer_state: str  # reading | idle | stalled | down
    in_hand: Record | None
    in_flight: list[tuple[str, int, int]]  # (message id, partition, attempt) awaiting an ack
    producer_id: int
    producer_epoch: int


class Pipeline:
    """Producer, broker and consumer on one World and one bank. UI, CLI and tests drive this."""

    def __init__(self, config: PipelineConfig, bank: Bank, start: int = 0) -> None:
        self.config = config
        self.bank = bank
        self.world = World(config.seed, start)
        self.rates: dict[Fault, float] = {
            "lost_ack": config.lost_ack,
            "crash": config.crash_before_commit,
            "zombie": config.zombie,
        }
        self.next_faults: dict[Fault, int] = dict.fromkeys(FAULTS, 0)
        self.scripts: dict[Fault, list[bool]] = {f: [] for f in FAULTS}
        self.broker = Broker(self.world, config.partitions)
        self.producer = Producer(self.world, config, self.broker, self.decide)
        self.consumer = Consumer(self.world, config, self.broker, bank, self.decide)
        self.next_number = config.first_id
        self.remaining = 0
        self.message_ids: list[str] = []

    @classmethod
    async def open(
        cls, config: PipelineConfig, store_config: StoreConfig, *, bridge: Bridge = "inline"
    ) -> Pipeline:
        """Open the bank's file; continue its clock and never reuse a message id stored there."""
        bank = Bank(store_config, bridge=bridge)
        await bank.open()
        try:
            await bank.run(store.prepare_pipeline, config.topic, fresh=store_config.fresh)
            latest, _ = await bank.run(resume_point)
            highest = await bank.run(store.highest_message_number, config.prefix)
        except BaseException:
            await bank.close()
            raise
        pipeline = cls(config, bank, latest + 1 if latest else 0)
        pipeline.next_number = max(config.first_id, highest + 1)
        return pipeline

    async def close(self) -> None:
        await self.bank.close()

    @property
    def now(self) -> int:
        return self.world.now

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        return self.world.subscribe(fn)

    def decide(self, fault: Fault) -> bool:
        """Does this fault strike now? A script first, then the one-shots, then the seeded RNG."""
        script = self.scripts[fault]
        if script:
            return script.pop(0)
        if self.next_faults[fault] > 0:
            self.next_faults[fault] -= 1
            return True
        p = self.rates[fault]
        return p > 0.0 and self.world.rng.random() < p

    def _control(self, name: str, value: object) -> None:
        self.world.emit(Control(self.world.now, "", 0, name, str(value)))

    # -- running ---------------------------------------------------------------------------------
    def start(self, messages: int | None = None) -> None:
        """Start the producer and the consumer; the payment service creates `messages` messages."""
        n = self.config.messages if messages is None else messages
        self._control("pipeline", f"{n} messages")
        self.producer.start()
        self.consumer.schedule_start(0)
        self.produce(n)

    def produce(self, n: int = 1) -> None:
        """The payment service creates n more messages, one every `produce_every` ms."""
        idle = self.remaining == 0
        self.remaining += n
        if idle and n > 0:
            self.world.at(self.world.now, self._create)

    def _create(self) -> None:
        if self.remaining <= 0:
            return
        self.remaining -= 1
        cfg, world = self.config, self.world
        message_id = f"{cfg.prefix}{self.next_number}"
        partition = (self.next_number - 1) % cfg.partitions
        self.next_number += 1
        self.message_ids.append(message_id)
        world.emit(Produced(world.now, message_id, 0, partition, cfg.amount))
        self.producer.enqueue(message_id, cfg.amount, partition)
        if self.remaining > 0:
            world.at(world.now + cfg.produce_every, self._create)

    async def run_until_idle(self) -> int:
        return await self.world.run_until_idle()

    async def advance_to(self, t: int) -> None:
        await self.world.advance_to(t)

    # -- the teacher's hiccups -------------------------------------------------------------------
    def lose_next_acks(self, n: int = 1) -> None:
        self._control("lose_next_acks", n)
        self.next_faults["lost_ack"] += n

    def crash_before_next_commits(self, n: int = 1) -> None:
        self._control("crash_before_next_commits", n)
        self.next_faults["crash"] += n

    def stall_next_consumers(self, n: int = 1) -> None:
        """The next n times, the consumer freezes before its commit and is replaced: a zombie."""
        self._control("stall_next_consumers", n)
        self.next_faults["zombie"] += n

    def crash_consumer(self) -> bool:
        self._control("crash_consumer", "")
        return self.consumer.crash()

    def restart_producer(self) -> None:
        """The payment service restarts: new epoch; the old instance's sends would be refused."""
        self._control("restart_producer", "")
        self.producer.stop()
        self.world.at(self.world.now + self.config.restart, self.producer.start)

    def set_rate(self, fault: Fault, p: float) -> None:
        if fault not in FAULTS:
            raise ValueError(f"{fault!r}: use one of {', '.join(FAULTS)}")
        self._control(f"rate_{fault}", p)
        self.rates[fault] = p

    def set_consumer_mode(self, mode: ConsumerMode) -> None:
        if mode not in store.CONSUMER_MODES:
            raise ValueError(f"consumer mode {mode!r}: use one of {', '.join(store.CONSUMER_MODES)}")
        self._control("consumer", mode)
        self.config.consumer = mode

    def set_producer_idempotent(self, on: bool) -> None:
        """Takes effect when the producer next starts (Kafka reads it at start-up too)."""
        self._control("producer_idempotent", on)
        self.config.producer_idempotent = on

    # -- what a view shows -----------------------------------------------------------------------
    def view(self) -> PipelineView:
        c = self.consumer
        inst = c.current
        if inst is None:
            state = "down"
        elif inst.stalled:
            state = "stalled"
        else:
            state = "reading" if inst.busy else "idle"
        flying = [(o.message_id, o.partition, o.attempt) for lst in self.producer.in_flight for o in lst]
        return PipelineView(
            log=[list(part) for part in self.broker.log],
            positions=list(inst.positions) if inst else None,
            committed=list(c.committed),
            epoch=inst.epoch if inst else None,
            consumer_state=state,
            in_hand=c.in_hand,
            in_flight=flying,
            producer_id=self.producer.producer_id,
            producer_epoch=self.producer.epoch,
        )
