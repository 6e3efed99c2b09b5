"""The run's trace: a closed set of frozen events, each one JSON line with its virtual time."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar

REQUEST = "request"  # ATM to bank
REPLY = "reply"  # bank to ATM


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at virtual time `t` (milliseconds) to transaction `txn_id`."""

    kind: ClassVar[str] = "event"
    t: int
    txn_id: str
    attempt: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.t, "kind": self.kind}
        for name in _field_names(type(self)):
            out[name] = getattr(self, name)
        return out

    def to_json(self) -> str:
        return _ENCODER.encode(self.to_dict())


# A trace writes one line per event: look each class's fields up once, and build one encoder.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(cls: type[Event]) -> tuple[str, ...]:
    """The fields after `t`, in the order they are declared."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls) if f.name != "t")
    return names


@dataclass(frozen=True, slots=True)
class Requested(Event):
    """The customer asked the ATM for something (a withdrawal, a balance, a status)."""

    kind: ClassVar[str] = "requested"
    op: str
    amount: int


@dataclass(frozen=True, slots=True)
class Sent(Event):
    """The ATM put one attempt on the wire."""

    kind: ClassVar[str] = "sent"
    op: str
    amount: int


@dataclass(frozen=True, slots=True)
class Dropped(Event):
    """The network lost a message. `cause`: random, forced (a one-shot), drop-all, bank-down."""

    kind: ClassVar[str] = "dropped"
    direction: str
    cause: str
    op: str = "withdraw"  # what the message was: a write, or a read (balance, status)


@dataclass(frozen=True, slots=True)
class Duplicated(Event):
    """The network will deliver this message twice."""

    kind: ClassVar[str] = "duplicated"
    direction: str
    cause: str
    op: str = "withdraw"


@dataclass(frozen=True, slots=True)
class Delivered(Event):
    """A request arrived at the bank (copy 2 is the network's duplicate)."""

    kind: ClassVar[str] = "delivered"
    op: str
    copy: int


@dataclass(frozen=True, slots=True)
class Processed(Event):
    """A new key: the bank debited the account and stored the response."""

    kind: ClassVar[str] = "processed"
    amount: int
    balance_after: int
    body: str


@dataclass(frozen=True, slots=True)
class Declined(Event):
    """A new key, insufficient funds: the decline is stored and replayed like any result."""

    kind: ClassVar[str] = "declined"
    amount: int
    balance: int
    body: str


@dataclass(frozen=True, slots=True)
class Replayed(Event):
    """A known key: the stored response went back verbatim, nothing debited."""

    kind: ClassVar[str] = "replayed"
    hits: int
    body: str


@dataclass(frozen=True, slots=True)
class InProgress(Event):
    """Another delivery of the key is still being processed (HTTP 409)."""

    kind: ClassVar[str] = "in_progress"


@dataclass(frozen=True, slots=True)
class Rejected(Event):
    """The key is known with a different request body, or belongs to another client (HTTP 422)."""

    kind: ClassVar[str] = "rejected"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class KeyExpired(Event):
    """The key's retention window had passed, so this delivery is treated as new.

    `ttl` is the retention (ms) the bank was keeping keys for: recorded here so the screen says
    it from the trace, whichever way the step was reached (0 in traces from before it was kept).
    """

    kind: ClassVar[str] = "key_expired"
    ttl: int = 0


@dataclass(frozen=True, slots=True)
class Replied(Event):
    """The bank sent its answer back."""

    kind: ClassVar[str] = "replied"
    op: str
    status: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class ReplyDelivered(Event):
    """The bank's answer reached the ATM."""

    kind: ClassVar[str] = "reply_delivered"
    op: str
    status: str
    replayed: bool
    body: str


@dataclass(frozen=True, slots=True)
class TimedOut(Event):
    """The ATM stopped waiting for this attempt's answer (a write's, or a read's: `op`)."""

    kind: ClassVar[str] = "timed_out"
    op: str = "withdraw"


@dataclass(frozen=True, slots=True)
class Retrying(Event):
    """The ATM will resend the same id and body as `attempt` after `delay` ms."""

    kind: ClassVar[str] = "retrying"
    delay: int


@dataclass(frozen=True, slots=True)
class RetryCancelled(Event):
    """The resend promised as `attempt` will not go: the final answer came first."""

    kind: ClassVar[str] = "retry_cancelled"


@dataclass(frozen=True, slots=True)
class GaveUp(Event):
    """No attempts left: the ATM does not know whether the bank debited."""

    kind: ClassVar[str] = "gave_up"


@dataclass(frozen=True, slots=True)
class Finished(Event):
    """What the ATM finally knows: dispensed, declined, rejected or unknown."""

    kind: ClassVar[str] = "finished"
    outcome: str


@dataclass(frozen=True, slots=True)
class Ignored(Event):
    """A reply that came after the ATM had already finished with this id."""

    kind: ClassVar[str] = "ignored"
    status: str


@dataclass(frozen=True, slots=True)
class Answered(Event):
    """A read (balance or status) answered: reads need no key, asking twice changes nothing."""

    kind: ClassVar[str] = "answered"
    op: str
    body: str


@dataclass(frozen=True, slots=True)
class Resolved(Event):
    """A status query turned an unknown outcome into the truth."""

    kind: ClassVar[str] = "resolved"
    truth: str


@dataclass(frozen=True, slots=True)
class Crashed(Event):
    """The bank process died at `where`; work in flight is lost."""

    kind: ClassVar[str] = "crashed"
    where: str


@dataclass(frozen=True, slots=True)
class RolledBack(Event):
    """A delivery that had arrived died with a crash before its transaction committed.

    Its arrival is in the trace but nothing of it is in the file (no delivery row, no debit),
    so every count of arrivals that should agree with the file subtracts it.
    """

    kind: ClassVar[str] = "rolled_back"
    op: str
    where: str


@dataclass(frozen=True, slots=True)
class StoreFailed(Event):
    """The bank's file refused a transaction at `where` (another program holds its lock, say).

    The transaction rolled back, so nothing of it is stored: the delivery is lost like a dropped
    message (the ATM's retry, or the pipeline consumer's replacement, does the work again).
    """

    kind: ClassVar[str] = "store_failed"
    where: str
    error: str


@dataclass(frozen=True, slots=True)
class Recovered(Event):
    """The bank is back up, with only what it had committed."""

    kind: ClassVar[str] = "recovered"


@dataclass(frozen=True, slots=True)
class Control(Event):
    """A person (or a script) changed a setting: inputs are events too, so runs replay exactly."""

    kind: ClassVar[str] = "control"
    name: str
    value: str


# Control names "start_mode", "start_ttl", ...: a scenario's starting state, opening its trace.
START_CONTROL = "start_"


@dataclass(frozen=True, slots=True)
class Twin(Event):
    """Compare mode: the naive twin bank applied the same delivery (`outcome`: processed, declined)."""

    kind: ClassVar[str] = "twin"
    outcome: str
    amount: int
    balance_after: int


EVENT_TYPES: tuple[type[Event], ...] = (
    Requested, Sent, Dropped, Duplicated, Delivered, Processed, Declined, Replayed, InProgress,
    Rejected, KeyExpired, Replied, ReplyDelivered, TimedOut, Retrying, RetryCancelled, GaveUp, Finished,
    Ignored,
    Answered, Resolved, Crashed, RolledBack, StoreFailed, Recovered, Control, Twin,
)  # fmt: skip
