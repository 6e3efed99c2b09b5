"""The lossy network: two directions, each with latency, jitter, drops, duplicates and one-shots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from atm_tui.sim.atm.config import LinkConfig
from atm_tui.sim.events import Dropped, Duplicated
from atm_tui.sim.world import World


@dataclass(frozen=True, slots=True)
class Message:
    """One request or reply on the wire. Retries reuse txn_id and body; `attempt` says which send."""

    op: str  # withdraw | balance | status
    txn_id: str
    attempt: int
    amount: int = 0
    status: str = ""
    body: str = ""
    replayed: bool = False
    client: str = ""  # who sent a request, when not the engine's own ATM (a second ATM in a scenario)


@dataclass(slots=True)
class Link:
    """One direction. Every decision draws from the world's one RNG, in a fixed order."""

    direction: str
    config: LinkConfig
    drop_next: int = 0
    duplicate_next: int = 0
    delay_next: int = 0
    drop_all: bool = False
    sent: int = field(default=0)

    def send(self, world: World, msg: Message, arrive: Callable[[Message, int], object]) -> None:
        """Decide the message's fate now; schedule `arrive(msg, copy)` for each copy that survives."""
        self.sent += 1
        cfg = self.config
        rng = world.rng
        cause = ""
        if self.drop_all:
            cause = "drop-all"
        elif self.drop_next > 0:
            self.drop_next -= 1
            cause = "forced"
        elif cfg.drop > 0.0 and rng.random() < cfg.drop:
            cause = "random"
        if cause:
            world.emit(Dropped(world.now, msg.txn_id, msg.attempt, self.direction, cause, msg.op))
            return
        copies = 1
        if self.duplicate_next > 0:
            self.duplicate_next -= 1
            copies = 2
            world.emit(Duplicated(world.now, msg.txn_id, msg.attempt, self.direction, "forced", msg.op))
        elif cfg.duplicate > 0.0 and rng.random() < cfg.duplicate:
            copies = 2
            world.emit(Duplicated(world.now, msg.txn_id, msg.attempt, self.direction, "random", msg.op))
        extra, self.delay_next = self.delay_next, 0
        for copy in range(1, copies + 1):
            delay = cfg.latency + extra + (rng.randint(0, cfg.jitter) if cfg.jitter > 0 else 0)
            world.at(world.now + delay, arrive, msg, copy)


class Network:
    """ATM to bank (`request`) and bank to ATM (`reply`)."""

    def __init__(self, request: LinkConfig, reply: LinkConfig) -> None:
        self.request = Link("request", request)
        self.reply = Link("reply", reply)

    def link(self, direction: str) -> Link:
        if direction == "request":
            return self.request
        if direction == "reply":
            return self.reply
        raise ValueError(f"direction {direction!r}: use request or reply")
