"""The log pipeline's events: producer sends, broker appends, consumer deliveries and commits.

They extend the engine's trace (same base class, same JSON line per event); `txn_id` is the
message id (empty for events about a whole producer or consumer), `attempt` is the producer's
send attempt or the consumer's delivery number. `epoch` is always the epoch of the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from atm_tui.sim.events import Event


# -- the producer (the payment service) -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Produced(Event):
    """The payment service created a message (a charge of `amount`) for `partition`."""

    kind: ClassVar[str] = "produced"
    partition: int
    amount: int


@dataclass(frozen=True, slots=True)
class ProducerStarted(Event):
    """A producer instance got its id and epoch from the broker; older epochs are fenced."""

    kind: ClassVar[str] = "producer_started"
    producer_id: int
    epoch: int
    idempotent: bool


@dataclass(frozen=True, slots=True)
class ProduceSent(Event):
    """One send of a batch (one message). Attempt 2+ is a resend with the same sequence number."""

    kind: ClassVar[str] = "produce_sent"
    partition: int
    producer_id: int
    epoch: int
    seq: int


@dataclass(frozen=True, slots=True)
class Acked(Event):
    """The broker's acknowledgement reached the producer; `duplicate` if it was a dropped resend."""

    kind: ClassVar[str] = "acked"
    partition: int
    offset: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class ProduceTimedOut(Event):
    """No acknowledgement in time; the producer will resend (or give up after its last attempt)."""

    kind: ClassVar[str] = "produce_timed_out"
    partition: int


@dataclass(frozen=True, slots=True)
class ProducerGaveUp(Event):
    """Out of attempts: the producer does not know whether the message is in the log."""

    kind: ClassVar[str] = "producer_gave_up"
    partition: int


# -- the broker -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Appended(Event):
    """The broker wrote the message at `offset` of `partition`."""

    kind: ClassVar[str] = "appended"
    partition: int
    offset: int
    producer_id: int
    epoch: int
    seq: int


@dataclass(frozen=True, slots=True)
class DuplicateDropped(Event):
    """An idempotent producer's resend of a batch already in the log (found among its last 5)."""

    kind: ClassVar[str] = "duplicate_dropped"
    partition: int
    offset: int
    producer_id: int
    epoch: int
    seq: int


@dataclass(frozen=True, slots=True)
class ProduceRefused(Event):
    """The broker refused a send: `fenced` (an older epoch) or `out_of_order` (a sequence gap)."""

    kind: ClassVar[str] = "produce_refused"
    partition: int
    producer_id: int
    epoch: int
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class AckLost(Event):
    """The broker appended (or dropped a duplicate) but its acknowledgement never arrived."""

    kind: ClassVar[str] = "ack_lost"
    partition: int
    offset: int


# -- the consumer (a group of one) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConsumerStarted(Event):
    """A consumer joined the group with a new epoch: every older member is now fenced."""

    kind: ClassVar[str] = "consumer_started"
    epoch: int
    mode: str


@dataclass(frozen=True, slots=True)
class PositionReset(Event):
    """A new consumer starts reading `partition` at its committed offset."""

    kind: ClassVar[str] = "position_reset"
    partition: int
    offset: int
    epoch: int


@dataclass(frozen=True, slots=True)
class Fetched(Event):
    """The record at `offset` reached the consumer; `attempt` is the delivery number of the id."""

    kind: ClassVar[str] = "fetched"
    partition: int
    offset: int
    epoch: int


@dataclass(frozen=True, slots=True)
class Charged(Event):
    """The bank charged the account for this message (a ledger row with operation 'charge')."""

    kind: ClassVar[str] = "charged"
    partition: int
    offset: int
    epoch: int
    amount: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class KeyExpiredCharged(Event):
    """Key expired, charged again: the message id's key was older than the TTL, so the bank forgot
    it and this delivery is charged as new (emitted just before its Charged). A dedup window
    shorter than the redelivery; the transactional consumer never needs one."""

    kind: ClassVar[str] = "key_expired_charged_again"
    partition: int
    offset: int
    epoch: int
    ttl: int


@dataclass(frozen=True, slots=True)
class ChargeSkipped(Event):
    """The message id was already charged: a re-delivery (or a duplicate in the log), no charge."""

    kind: ClassVar[str] = "charge_skipped"
    partition: int
    offset: int
    epoch: int
    hits: int


@dataclass(frozen=True, slots=True)
class ChargeDeclined(Event):
    """Insufficient funds: no charge; with a key the decline is stored like any result."""

    kind: ClassVar[str] = "charge_declined"
    partition: int
    offset: int
    epoch: int
    amount: int
    balance: int


@dataclass(frozen=True, slots=True)
class OffsetCommitted(Event):
    """The group's committed offset for `partition` is now `offset` (the next record to read).

    `with_charge`: committed in the same transaction as the charge (transactional mode).
    """

    kind: ClassVar[str] = "offset_committed"
    partition: int
    offset: int
    epoch: int
    with_charge: bool


@dataclass(frozen=True, slots=True)
class CommitRefused(Event):
    """A fenced consumer (a zombie) tried to commit; the bank refused and nothing changed."""

    kind: ClassVar[str] = "commit_refused"
    partition: int
    offset: int
    epoch: int
    current_epoch: int


@dataclass(frozen=True, slots=True)
class ConsumerCrashed(Event):
    """The consumer died at `where`; its position in memory is gone, its epoch with it."""

    kind: ClassVar[str] = "consumer_crashed"
    epoch: int
    where: str


@dataclass(frozen=True, slots=True)
class ConsumerStalled(Event):
    """The consumer froze (a long pause) before committing; it will wake at `until`."""

    kind: ClassVar[str] = "consumer_stalled"
    epoch: int
    until: int


@dataclass(frozen=True, slots=True)
class ConsumerEvicted(Event):
    """The group gave up on a silent member; a replacement will take over its partitions."""

    kind: ClassVar[str] = "consumer_evicted"
    epoch: int


PIPELINE_EVENT_TYPES: tuple[type[Event], ...] = (
    Produced, ProducerStarted, ProduceSent, Acked, ProduceTimedOut, ProducerGaveUp, Appended,
    DuplicateDropped, ProduceRefused, AckLost, ConsumerStarted, PositionReset, Fetched, Charged,
    ChargeSkipped, ChargeDeclined, OffsetCommitted, CommitRefused, ConsumerCrashed, ConsumerStalled,
    ConsumerEvicted, KeyExpiredCharged,
)  # fmt: skip
