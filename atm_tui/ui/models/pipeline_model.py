"""The pipeline view's Textual-free model: the event stream turned into bounded, exact state and captions."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Span, Text

from atm_tui.bank.money import rupees
from atm_tui.sim.events import Control, Event, RolledBack
from atm_tui.sim.pipeline.events import (
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
    KeyExpiredCharged,
    OffsetCommitted,
    ProduceRefused,
    ProducerGaveUp,
    ProducerStarted,
    ProduceSent,
)
from atm_tui.sim.pipeline.pipeline import NO_PRODUCER
from atm_tui.sim.pipeline.report import PipelineTally
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.captions import PIPELINE_CONTROL_CAPTIONS

if TYPE_CHECKING:
    pass

# Colour is never the only signal: each style goes with a symbol or a word. These name colour
# roles, in the one palette's default colours (outcomes.palette); the panel paints them in the
# current theme's colours when it draws (recolour).
_DEFAULT = outcomes.palette()
HOT = _DEFAULT["hot"]
GOOD = _DEFAULT["fresh"]
SKIP = _DEFAULT["replay"]
DUP = _DEFAULT["dup"]
DIM = "dim"
MARK = _DEFAULT["request"]
_ROLES = {HOT: "hot", GOOD: "fresh", SKIP: "replay", DUP: "dup", MARK: "request"}


def recolour(text: Text, palette: dict[str, str]) -> Text:
    """The same text with each role's placeholder style replaced by the theme's colour."""
    swap = {style: palette[role] for style, role in _ROLES.items()}
    if isinstance(text.style, str) and text.style in swap:
        text.style = swap[text.style]
    text.spans[:] = [
        Span(span.start, span.end, swap.get(span.style, span.style)) if isinstance(span.style, str) else span
        for span in text.spans
    ]
    return text

DEFAULT_CAPTION = (
    "Pipeline: w produces a charge message. K crashes the consumer before its next commit;"
    " i changes how the consumer processes."
)


@dataclass(frozen=True, slots=True)
class Line:
    """One entry of the event list: virtual time, a symbol, the words, a style."""

    t: int
    symbol: str
    text: str
    style: str = ""


class PipelineModel:
    """Subscribe it to the pipeline; read it from the UI. Lists are bounded, counters exact."""

    def __init__(self, t0: int = 0, *, lines: int = 300) -> None:
        self.t0 = t0
        self.tally = PipelineTally()
        self.lines: deque[Line] = deque(maxlen=lines)
        self.lines_total = 0
        self.charges: dict[str, int] = {}  # message id -> charges the bank reported
        self.skips: dict[str, int] = {}
        self.declines: set[str] = set()
        self.double_charged: list[str] = []  # ids charged more than once, in the order it happened
        self.charged_again: dict[str, int] = {}  # message id -> charges made after its key expired
        self.appended_ids: dict[str, int] = {}  # message id -> times it is in the log
        self._fetched_at: dict[str, tuple[int, int]] = {}  # message id -> (partition, offset) last read
        self._charged_at: dict[str, tuple[int, int]] = {}  # message id -> where it was first charged
        self.caption = DEFAULT_CAPTION
        self._producer_next_idempotent = True  # as the last producer_idempotent control said
        self._expired_now = ""  # the message whose key expired just before its Charged
        self.bank_changed = False
        self.events = 0

    @property
    def counts(self) -> dict[str, int]:
        return self.tally.counts

    def status(self, message_id: str) -> tuple[str, str]:
        """What the bank did with a message id so far: (words with a symbol, style)."""
        n = self.charges.get(message_id, 0)
        again = self.charged_again.get(message_id, 0)
        if n > 1 and again:
            return f"⚠ key expired, charged again: {n}x", HOT
        if n > 1:
            return f"⚠ DOUBLE: charged {n}x", HOT
        if n == 1:
            skipped = self.skips.get(message_id, 0)
            return ("$ charged once" + (f" ↺ {skipped} skipped" if skipped else "")), GOOD
        if message_id in self.declines:
            return "✗ declined", DUP
        return "· not charged", DIM

    # -- the subscriber --------------------------------------------------------------------------
    def __call__(self, ev: Event) -> None:
        self.events += 1
        self.tally(ev)
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev)

    def _add(self, ev: Event, symbol: str, text: str, style: str = "") -> None:
        self.lines.append(Line(ev.t, symbol, text, style))
        self.lines_total += 1

    def _appended(self, ev: Appended) -> None:
        n = self.appended_ids.get(ev.txn_id, 0) + 1
        self.appended_ids[ev.txn_id] = n
        where = f"{ev.partition}/{ev.offset}"
        if n > 1:
            self._add(ev, "⧉", f"{ev.txn_id} appended AGAIN at {where}: the log holds it {n}x", DUP)
            self.caption = (
                f"{ev.txn_id} is in the log twice: a plain producer's resend is appended again."
                " Only the consumer's idempotency check can save the customer now."
            )
        else:
            self._add(
                ev, "▤", f"{ev.txn_id} appended at {where} ({_header(ev.producer_id, ev.epoch, ev.seq)})"
            )

    def _sent(self, ev: ProduceSent) -> None:
        if ev.attempt > 1:
            self._add(
                ev,
                "↻",
                f"{ev.txn_id} resent, attempt {ev.attempt} (same seq {ev.seq})"
                if ev.seq != NO_PRODUCER
                else f"{ev.txn_id} resent, attempt {ev.attempt} (no seq)",
            )

    def _ack_lost(self, ev: AckLost) -> None:
        self._add(
            ev,
            "✕",
            f"ack for {ev.txn_id} lost (it IS at {ev.partition}/{ev.offset}); producer will resend",
            HOT,
        )
        self.caption = (
            f"The broker stored {ev.txn_id} but its acknowledgement was lost."
            " The producer cannot tell, so it will send it again."
        )

    def _duplicate(self, ev: DuplicateDropped) -> None:
        self._add(
            ev,
            "⧉",
            f"{ev.txn_id} duplicate dropped: seq {ev.seq} already at {ev.partition}/{ev.offset}",
            SKIP,
        )
        self.caption = (
            f"Idempotent producer: the broker recognised {ev.txn_id}'s resend by (producer id, epoch, seq)"
            " and dropped it. The log holds it once."
        )

    def _refused(self, ev: ProduceRefused) -> None:
        self._add(
            ev,
            "⛔",
            f"{ev.txn_id} refused by the broker: {ev.reason.replace('_', ' ')} (epoch {ev.epoch})",
            HOT,
        )

    def _gave_up(self, ev: ProducerGaveUp) -> None:
        self._add(ev, "?", f"{ev.txn_id}: producer gave up; it does not know if the log has it", HOT)

    def _producer_started(self, ev: ProducerStarted) -> None:
        if ev.idempotent:
            self._add(ev, "●", f"producer started: id {ev.producer_id}, epoch {ev.epoch}, idempotent")
        else:
            self._add(ev, "⚠", "producer started: plain (no id, no sequence numbers)", DUP)

    def _consumer_started(self, ev: ConsumerStarted) -> None:
        self._add(ev, "●", f"consumer joined: epoch {ev.epoch}, {ev.mode}; older members fenced")

    def _rolled_back(self, ev: RolledBack) -> None:
        # The delivery is not counted: its transaction never committed, so the file has no row.
        text = f"{ev.txn_id} delivery {ev.attempt} rolled back {ev.where}: nothing of it stored"
        self._add(ev, "↩", text, DUP)

    def _fetched(self, ev: Fetched) -> None:
        before = self._fetched_at.get(ev.txn_id)
        self._fetched_at[ev.txn_id] = (ev.partition, ev.offset)
        if ev.attempt > 1:
            where = f"{ev.partition}/{ev.offset}"
            self._add(ev, "↻", f"{ev.txn_id} delivered again (delivery {ev.attempt}) from {where}", DUP)
            if before == (ev.partition, ev.offset):
                self.caption = (
                    f"{ev.txn_id} is delivered again (delivery {ev.attempt}): its offset was never committed."
                )
            else:
                self.caption = (
                    f"{ev.txn_id} is delivered again (delivery {ev.attempt}):"
                    f" a second copy sits in the log at {where}."
                )

    def _charged(self, ev: Charged) -> None:
        self.bank_changed = True
        n = self.charges.get(ev.txn_id, 0) + 1
        self.charges[ev.txn_id] = n
        first = self._charged_at.setdefault(ev.txn_id, (ev.partition, ev.offset))
        if n > 1:
            if n == 2:
                self.double_charged.append(ev.txn_id)
            self._add(ev, "⚠", f"{ev.txn_id} CHARGED AGAIN ({n}x): double charge, {rupees(ev.amount)}", HOT)
            if self._expired_now == ev.txn_id:
                why = "its key had expired (outside the dedup window), so the re-delivery was charged as new"
            elif first == (ev.partition, ev.offset):
                why = "its offset was not committed, so the re-delivery was processed again"
            else:
                why = "a second copy of it in the log was processed too"
            self.caption = f"{ev.txn_id} charged {n} times: {why}. No idempotency: the disaster."
            if self._expired_now == ev.txn_id:
                self.caption = (f"{ev.txn_id} charged {n} times: {why}. Keys kept shorter than redeliveries"
                                " take are no dedup at all; the transactional consumer needs no window.")
        else:
            self._add(
                ev, "$", f"{ev.txn_id} charged {rupees(ev.amount)}, balance {rupees(ev.balance_after)}", GOOD
            )
            self.caption = f"{ev.txn_id} charged {rupees(ev.amount)} (delivery {ev.attempt})."
        self._expired_now = ""

    def _key_expired(self, ev: KeyExpiredCharged) -> None:
        self.charged_again[ev.txn_id] = self.charged_again.get(ev.txn_id, 0) + 1
        self._expired_now = ev.txn_id
        self._add(ev, "⧗", f"{ev.txn_id} key expired, charged again (keys kept {ev.ttl / 1000:g} s)", HOT)

    def _skipped(self, ev: ChargeSkipped) -> None:
        self.bank_changed = True
        self.skips[ev.txn_id] = self.skips.get(ev.txn_id, 0) + 1
        self._add(ev, "↺", f"{ev.txn_id} already charged: re-delivery skipped (hits {ev.hits})", SKIP)
        self.caption = (
            f"{ev.txn_id} delivered again, but the bank found its message id: skipped, no second charge."
            " At-least-once delivery + idempotent processing."
        )

    def _declined(self, ev: ChargeDeclined) -> None:
        self.bank_changed = True
        self.declines.add(ev.txn_id)
        self._add(ev, "✗", f"{ev.txn_id} declined: balance {rupees(ev.balance)}", DUP)

    def _committed(self, ev: OffsetCommitted) -> None:
        self.bank_changed = True
        how = " with the charge, one transaction" if ev.with_charge else ""
        self._add(ev, "✓", f"offset {ev.partition}/{ev.offset} committed (epoch {ev.epoch}){how}", DIM)

    def _commit_refused(self, ev: CommitRefused) -> None:
        self.bank_changed = True
        self._add(
            ev, "⛔", f"commit refused: epoch {ev.epoch} is fenced (group is at {ev.current_epoch})", HOT
        )
        self.caption = (
            f"A zombie (epoch {ev.epoch}) tried to commit; the bank refused it (the group is at"
            f" epoch {ev.current_epoch}). Nothing changed."
        )

    def _crashed(self, ev: ConsumerCrashed) -> None:
        what = f" with {ev.txn_id} in hand" if ev.txn_id else ""
        self._add(ev, "✕", f"consumer e{ev.epoch} crashed{what}: {ev.where}", HOT)
        self.caption = (
            f"The consumer crashed{what} ({ev.where}). A new one starts at the committed offset;"
            " anything after it is delivered again."
        )

    def _stalled(self, ev: ConsumerStalled) -> None:
        self._add(ev, "⧖", f"consumer (epoch {ev.epoch}) frozen with {ev.txn_id} in hand", DUP)

    def _evicted(self, ev: ConsumerEvicted) -> None:
        self._add(ev, "✕", f"consumer (epoch {ev.epoch}) evicted; a replacement takes over", DUP)

    def _control(self, ev: Control) -> None:
        if ev.name == "producer_idempotent":
            self._producer_next_idempotent = ev.value == "True"
        if ev.name == "restart_producer" and not self._producer_next_idempotent:
            # Idempotence off: the new producer has no id and no epoch, so nothing is fenced.
            self.caption = (
                "The payment service restarts as a plain producer: no producer id, no epoch, no"
                " sequence numbers, so the broker cannot tell a resend from a new message."
            )
            return
        text = PIPELINE_CONTROL_CAPTIONS.get(ev.name)
        if text is not None:
            self.caption = text.format(value=ev.value)


def _header(pid: int, epoch: int, seq: int) -> str:
    if pid == NO_PRODUCER:
        return "plain, no seq"
    return f"pid {pid} e{epoch} seq {seq}"


_HANDLERS: dict[type[Event], Callable[[PipelineModel, Any], None]] = {
    Appended: PipelineModel._appended,
    ProduceSent: PipelineModel._sent,
    AckLost: PipelineModel._ack_lost,
    DuplicateDropped: PipelineModel._duplicate,
    ProduceRefused: PipelineModel._refused,
    ProducerGaveUp: PipelineModel._gave_up,
    ProducerStarted: PipelineModel._producer_started,
    ConsumerStarted: PipelineModel._consumer_started,
    Fetched: PipelineModel._fetched,
    Charged: PipelineModel._charged,
    KeyExpiredCharged: PipelineModel._key_expired,
    ChargeSkipped: PipelineModel._skipped,
    ChargeDeclined: PipelineModel._declined,
    OffsetCommitted: PipelineModel._committed,
    CommitRefused: PipelineModel._commit_refused,
    ConsumerCrashed: PipelineModel._crashed,
    ConsumerStalled: PipelineModel._stalled,
    ConsumerEvicted: PipelineModel._evicted,
    RolledBack: PipelineModel._rolled_back,
    Control: PipelineModel._control,
}
