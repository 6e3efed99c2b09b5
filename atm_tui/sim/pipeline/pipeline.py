"""The log pipeline: a payment service producing to a broker's log, one consumer charging the bank.

Kafka's exactly-once, small enough to watch. The producer retries when an acknowledgement is
lost; with idempotence on, every batch carries (producer id, epoch, sequence) and the broker drops
a batch it already holds (it remembers the last 5 per producer and partition). A consumer group
of one reads from its committed offset, charges the bank per message, then commits; a crash in
between re-delivers, a paused member is replaced and fenced by epoch. Runs on the engine's World:
virtual time, the one seeded RNG, every step an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from atm_tui.bank import pipeline_store as store
from atm_tui.bank.pipeline_lock import PipelineLock
from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.bank.service import Bank, Bridge, resume_point
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.events import Control, Event
from atm_tui.sim.faults import FaultPoint
from atm_tui.sim.pipeline.broker import NO_PRODUCER, REMEMBERED_BATCHES, Batch, Broker, Record
from atm_tui.sim.pipeline.config import FAULTS, Fault, PipelineConfig
from atm_tui.sim.pipeline.consumer import Consumer
from atm_tui.sim.pipeline.events import Produced
from atm_tui.sim.pipeline.producer import Producer
from atm_tui.sim.world import World

# The pipeline's parts live in their own modules; importers keep naming them from here.
__all__ = [
    "FAULTS",
    "NO_PRODUCER",
    "REMEMBERED_BATCHES",
    "Batch",
    "Broker",
    "Fault",
    "Pipeline",
    "PipelineConfig",
    "PipelineView",
    "Record",
]


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
    consumer_mode: ConsumerMode = "idempotent"
    producer_up: bool = False
    producer_idempotent: bool = True  # what the running producer uses (the setting while it is down)
    producer_idempotent_next: bool = True  # the setting, read at the producer's next start
    lost_acks_armed: int = 0
    crashes_armed: int = 0
    stalls_armed: int = 0
    in_hand_deliveries: int = 0  # deliveries so far of the record in hand (0 if none)
    topic: str = ""


class Pipeline:
    """Producer, broker and consumer on one World and one bank. UI, CLI and tests drive this."""

    def __init__(self, config: PipelineConfig, bank: Bank, start: int = 0) -> None:
        self.config = config
        self.bank = bank
        self.world = World(config.seed, start)
        # One fault-injection point per fault: a script, armed one-shots, the seeded rate.
        self.faults: dict[Fault, FaultPoint] = {
            "lost_ack": FaultPoint(config.lost_ack),
            "crash": FaultPoint(config.crash_before_commit),
            "zombie": FaultPoint(config.zombie),
        }
        self.broker = Broker(self.world, config.partitions)
        self.producer = Producer(self.world, config, self.broker, self.decide)
        self.consumer = Consumer(self.world, config, self.broker, bank, self.decide)
        self.next_number = config.first_id
        self.remaining = 0
        self.message_ids: list[str] = []
        self.lock: PipelineLock | None = None  # this pipeline's hold on its file (set by open)

    @classmethod
    async def open(
        cls, config: PipelineConfig, store_config: StoreConfig, *, bridge: Bridge = "inline"
    ) -> Pipeline:
        """Open the bank's file; continue its clock and never reuse a message id stored there.

        Refused (StoreError) while another pipeline is open on the same file (bank/pipeline_lock.py).
        """
        lock = PipelineLock(store_config.path)
        bank = Bank(store_config, bridge=bridge)
        try:
            await bank.open()
        except BaseException:
            lock.release()
            raise
        try:
            await bank.run(store.prepare_pipeline, config.topic, fresh=store_config.fresh)
            latest, _ = await bank.run(resume_point)
            highest = await bank.run(store.highest_message_number, config.prefix)
        except BaseException:
            await bank.close()
            lock.release()
            raise
        pipeline = cls(config, bank, latest + 1 if latest else 0)
        pipeline.lock = lock
        pipeline.next_number = max(config.first_id, highest + 1)
        return pipeline

    async def close(self) -> None:
        await self.bank.close()
        if self.lock is not None:
            self.lock.release()

    @property
    def now(self) -> int:
        return self.world.now

    @property
    def consumer_up(self) -> bool:
        """Is a member of the consumer group running (so `k` has something to kill)?"""
        return self.consumer.current is not None

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        return self.world.subscribe(fn)

    def decide(self, fault: Fault) -> bool:
        """Does this fault strike now? A script first, then the one-shots, then the seeded RNG."""
        return self.faults[fault].strike(self.world.rng)

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

    def publish(self, n: int = 1) -> None:
        """A person's (or a script's) intent: the payment service creates n more messages.

        Recorded as a Control event like every other key, so a trace replays the same run.
        """
        self._control("produce", n)
        self.produce(n)

    def produce(self, n: int = 1) -> None:
        """The payment service creates n more messages, one every `produce_every` ms.

        No Control event: `start` calls this too. An intent from a key goes through `publish`.
        """
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
        self.faults["lost_ack"].arm(n)

    def crash_before_next_commits(self, n: int = 1) -> None:
        self._control("crash_before_next_commits", n)
        self.faults["crash"].arm(n)

    def stall_next_consumers(self, n: int = 1) -> None:
        """The next n times, the consumer freezes before its commit and is replaced: a zombie."""
        self._control("stall_next_consumers", n)
        self.faults["zombie"].arm(n)

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
        self.faults[fault].rate = p

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
        c, producer = self.consumer, self.producer
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
            consumer_mode=self.config.consumer,
            producer_up=producer.up,
            producer_idempotent=producer.idempotent if producer.up else self.config.producer_idempotent,
            producer_idempotent_next=self.config.producer_idempotent,
            lost_acks_armed=self.faults["lost_ack"].armed,
            crashes_armed=self.faults["crash"].armed,
            stalls_armed=self.faults["zombie"].armed,
            in_hand_deliveries=c.deliveries.get(c.in_hand.message_id, 0) if c.in_hand else 0,
            topic=self.config.topic,
        )
