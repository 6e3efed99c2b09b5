"""The log pipeline's broker: one topic's partitions in memory, deduplicating idempotent producers."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from atm_tui.sim.pipeline.events import Appended, DuplicateDropped, ProduceRefused
from atm_tui.sim.world import World

REMEMBERED_BATCHES = 5  # Kafka's broker keeps the last 5 batches per producer and partition
NO_PRODUCER = -1  # Kafka's producer id (and epoch, and sequence) of a non-idempotent producer


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
