"""The ATM client: mints ids, times out, retries with the same id and body, and reports an outcome."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from atm_tui.sim.atm.config import AtmConfig
from atm_tui.sim.atm.network import Message
from atm_tui.sim.events import (
    Answered,
    Finished,
    GaveUp,
    Ignored,
    ReplyDelivered,
    Requested,
    Resolved,
    RetryCancelled,
    Retrying,
    Sent,
    TimedOut,
)
from atm_tui.sim.world import World

DISPENSED = "dispensed"
DECLINED = "declined"
REJECTED = "rejected"
UNKNOWN = "unknown"
# What an approved write means to the customer, per operation (a withdrawal dispenses cash).
DONE: dict[str, str] = {"withdraw": DISPENSED, "payment": "charged", "order": "created", "vote": "counted"}
READS = ("balance", "status")
# How many transaction numbers an ATM claims from the bank's file at a time, once its block is used.
CLAIM_BLOCK = 100

Sender = Callable[[Message], None]


def _id_order(txn_id: str) -> tuple[int, str]:
    """T99 before T123: ids in the order they were minted, whatever their width."""
    digits = "".join(ch for ch in txn_id if ch.isdigit())
    return (int(digits) if digits else 0, txn_id)


@dataclass(slots=True)
class Pending:
    """What the ATM knows about one transaction while it is not finished."""

    txn_id: str
    amount: int
    op: str = "withdraw"
    payload: str = ""  # the request body of a payment, order or vote, resent as is on retries
    attempt: int = 0
    timer: int = 0  # bumped to cancel the outstanding timeout or retry
    promised: int = 0  # the attempt a scheduled resend will be (0: none scheduled)
    outcome: str = ""
    replies: list[str] = field(default_factory=list)
    client: str = ""  # sent as another client (a second ATM); '' is this ATM's own id


class Atm:
    """One ATM. `send` puts a message on the request link; replies come back through `on_reply`."""

    def __init__(self, world: World, config: AtmConfig, send: Sender, account_id: str = "") -> None:
        self.world = world
        self.config = config
        self._send = send
        self.account_id = account_id
        self.next_number = config.first_id
        # Numbers claimed from the bank's file: [next_number, block_end); None counts on freely.
        self.block_end: int | None = None
        self.claim: Callable[[int], int] | None = None  # claims `n` more numbers, returns the first
        self.pending: dict[str, Pending] = {}
        self.last: Pending | None = None
        self._reads = 0
        self._unknown: set[str] = set()
        self._given_up: dict[str, Pending] = {}  # finished unknown: `r` may still resend any of them
        # Reads on the wire and not yet answered: (op, id, ask). A read is not retried by the
        # ATM; it times out and says so, and asking again is safe.
        self._reads_waiting: set[tuple[str, str, int]] = set()
        self._asks: dict[str, int] = {}  # status queries per id: each ask is its own attempt

    @property
    def last_txn_id(self) -> str:
        return self.last.txn_id if self.last else ""

    # -- the customer's actions ---------------------------------------------------------------
    def withdraw(self, amount: int, txn_id: str | None = None, client: str = "") -> str:
        """Start a withdrawal under a fresh id (or a given one, to show a client reusing an id).

        `client` sends it as another ATM (another client id), to show two ATMs reusing one key."""
        if txn_id is None:
            if self.block_end is not None and self.next_number >= self.block_end and self.claim:
                self.next_number = self.claim(CLAIM_BLOCK)
                self.block_end = self.next_number + CLAIM_BLOCK
            txn_id = f"{self.config.prefix}{self.next_number}"
            self.next_number += 1
        p = Pending(txn_id, amount, client=client)
        self.pending[txn_id] = p
        self.last = p
        self.world.emit(Requested(self.world.now, txn_id, 0, "withdraw", amount))
        self._attempt(p)
        return txn_id

    def submit(self, op: str, label: str, amount: int, payload: str) -> str:
        """Start a payment, order or vote under the client's own `label` (its key, when keyed)."""
        p = Pending(label, amount, op, payload)
        self.pending[label] = p
        self.last = p
        self.world.emit(Requested(self.world.now, label, 0, op, amount))
        self._attempt(p)
        return label

    def retry_now(self, txn_id: str | None = None) -> bool:
        """Resend the same id and body at once (the `r` key), even after the ATM gave up."""
        p = (self.pending.get(txn_id) or self._given_up.get(txn_id)) if txn_id else self.last
        if p is None:
            return False
        if p.outcome:
            if p.outcome != UNKNOWN:
                return False
            p.outcome = ""
            self._given_up.pop(p.txn_id, None)
            self.pending[p.txn_id] = p
        self._attempt(p)
        return True

    def query_balance(self) -> str:
        self._reads += 1
        rid = f"B{self._reads}"
        self.world.emit(Requested(self.world.now, rid, 0, "balance", 0))
        self._read(Message("balance", rid, 1))
        return rid

    def query_status(self, txn_id: str | None = None) -> str | None:
        """Ask the bank what became of a transaction: a read, safe to repeat."""
        if txn_id is None:
            if self.last is None:
                return None
            txn_id = self.last.txn_id
        ask = self._asks[txn_id] = self._asks.get(txn_id, 0) + 1
        self.world.emit(Requested(self.world.now, txn_id, 0, "status", 0))
        self._read(Message("status", txn_id, ask))
        return txn_id

    @property
    def unknown(self) -> list[str]:
        """The ids whose outcome the ATM does not know, oldest first (what `s` and `r` can settle)."""
        return sorted(self._unknown, key=_id_order)

    # -- the wire -------------------------------------------------------------------------------
    def _read(self, msg: Message) -> None:
        world = self.world
        world.emit(Sent(world.now, msg.txn_id, msg.attempt, msg.op, 0))
        self._send(msg)
        wait = (msg.op, msg.txn_id, msg.attempt)
        self._reads_waiting.add(wait)
        world.at(world.now + self.config.timeout, self._on_read_timeout, wait)

    def _on_read_timeout(self, wait: tuple[str, str, int]) -> None:
        if wait in self._reads_waiting:
            self._reads_waiting.discard(wait)
            op, txn_id, ask = wait
            self.world.emit(TimedOut(self.world.now, txn_id, ask, op))

    def _attempt(self, p: Pending) -> None:
        p.attempt += 1
        p.timer += 1
        p.promised = 0  # a scheduled resend is this one (or `r` sent it sooner)
        world = self.world
        world.emit(Sent(world.now, p.txn_id, p.attempt, p.op, p.amount))
        self._send(Message(p.op, p.txn_id, p.attempt, p.amount, body=p.payload, client=p.client))
        world.at(world.now + self.config.timeout, self._on_timeout, p, p.timer)

    def _retry_delay(self, p: Pending) -> int:
        cfg = self.config
        if cfg.retry == "fixed":
            return cfg.fixed_delay
        # Full jitter (AWS): uniform(0, min(cap, base * 2**n)) spreads a crowd of retries apart.
        ceiling = min(cfg.backoff_cap, cfg.backoff_base * 2 ** (p.attempt - 1))
        return self.world.rng.randint(0, ceiling)

    def _can_retry(self, p: Pending) -> bool:
        cfg = self.config
        return cfg.auto_retry and cfg.retry != "none" and p.attempt < cfg.max_attempts

    def _schedule_retry(self, p: Pending) -> None:
        delay = self._retry_delay(p)
        p.timer += 1
        p.promised = p.attempt + 1
        self.world.emit(Retrying(self.world.now, p.txn_id, p.attempt + 1, delay))
        self.world.at(self.world.now + delay, self._fire_retry, p, p.timer)

    def _fire_retry(self, p: Pending, timer: int) -> None:
        if p.outcome or timer != p.timer:
            return
        self._attempt(p)

    def _on_timeout(self, p: Pending, timer: int) -> None:
        if p.outcome or timer != p.timer:
            return
        world = self.world
        world.emit(TimedOut(world.now, p.txn_id, p.attempt))
        if self._can_retry(p):
            self._schedule_retry(p)
        else:
            world.emit(GaveUp(world.now, p.txn_id, p.attempt))
            self._finish(p, UNKNOWN, p.attempt)

    def _finish(self, p: Pending, outcome: str, attempt: int) -> None:
        p.outcome = outcome
        p.timer += 1
        if p.promised:
            # A resend was announced; the answer made it needless: say so, do not leave it hanging.
            self.world.emit(RetryCancelled(self.world.now, p.txn_id, p.promised))
            p.promised = 0
        self.pending.pop(p.txn_id, None)
        if outcome == UNKNOWN:
            self._unknown.add(p.txn_id)
            self._given_up[p.txn_id] = p
        elif outcome == REJECTED:
            pass  # a 422 refuses a second request under the id: the first one's fate is still unknown
        else:
            self._unknown.discard(p.txn_id)
        self.world.emit(Finished(self.world.now, p.txn_id, attempt, outcome))

    def on_reply(self, msg: Message, copy: int = 1) -> None:
        world = self.world
        world.emit(
            ReplyDelivered(world.now, msg.txn_id, msg.attempt, msg.op, msg.status, msg.replayed, msg.body)
        )
        if msg.op != "withdraw":
            if msg.op not in READS:
                self._on_answer(msg)  # a payment, order or vote completes like a withdrawal
                return
            self._reads_waiting.discard((msg.op, msg.txn_id, msg.attempt))
            world.emit(Answered(world.now, msg.txn_id, msg.attempt, msg.op, msg.body))
            if msg.op == "status" and msg.txn_id in self._unknown:
                self._unknown.discard(msg.txn_id)
                data = json.loads(msg.body)
                truth = "debited" if int(data.get("debits", 0)) else "not debited"
                world.emit(Resolved(world.now, msg.txn_id, msg.attempt, truth))
            return
        self._on_answer(msg)

    def _on_answer(self, msg: Message) -> None:
        """The bank's answer to a write: finish, or wait and resend after "in progress"."""
        world = self.world
        p = self.pending.get(msg.txn_id)
        if p is None:
            world.emit(Ignored(world.now, msg.txn_id, msg.attempt, msg.status))
            return
        p.replies.append(msg.status)
        if msg.status == "approved":
            self._finish(p, DONE.get(p.op, DISPENSED), msg.attempt)
        elif msg.status == "declined":
            self._finish(p, DECLINED, msg.attempt)
        elif msg.status == "rejected":
            self._finish(p, REJECTED, msg.attempt)
        elif msg.status == "in_progress":
            # The bank has it but is not done: wait, then ask again with the same id.
            if msg.attempt == p.attempt and self._can_retry(p):
                self._schedule_retry(p)
