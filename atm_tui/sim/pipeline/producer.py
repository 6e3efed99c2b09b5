"""The payment service's producer: an outbox, up to `max_in_flight` batches a partition, retries."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from atm_tui.sim.pipeline.broker import NO_PRODUCER, Batch, Broker, ProduceResult
from atm_tui.sim.pipeline.config import Decide, PipelineConfig
from atm_tui.sim.pipeline.events import (
    Acked,
    AckLost,
    ProducerGaveUp,
    ProducerStarted,
    ProduceSent,
    ProduceTimedOut,
)
from atm_tui.sim.world import World


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
