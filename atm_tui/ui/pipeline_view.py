"""The pipeline view of the network pane: the broker's log, the consumer's offsets, events as they happen.

`PipelineModel` turns the pipeline's event stream into bounded, exact state (no Textual in it);
`PipelineToggles` and `PipelinePanel` draw it together with `Pipeline.view()`. Nothing here
decides an outcome: every line restates an event or a field the pipeline holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Span, Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widget import Widget

from atm_tui.bank.money import rupees
from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline import NO_PRODUCER, Record
from atm_tui.sim.pipeline_events import (
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
    ProduceRefused,
    ProducerGaveUp,
    ProducerStarted,
    ProduceSent,
)
from atm_tui.sim.pipeline_report import PipelineTally
from atm_tui.ui.widgets import styles

if TYPE_CHECKING:
    from atm_tui.sim.pipeline import Pipeline, PipelineView

# Colour is never the only signal: each style goes with a symbol or a word. These name colour
# roles; the panel paints them in the theme's colours when it draws (recolour).
HOT = "bold #FF5F5F"
GOOD = "bold #5FD75F"
SKIP = "bold #D787FF"
DUP = "bold #FFD75F"
DIM = "dim"
MARK = "bold #5FAFFF"
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
        self.appended_ids: dict[str, int] = {}  # message id -> times it is in the log
        self._fetched_at: dict[str, tuple[int, int]] = {}  # message id -> (partition, offset) last read
        self._charged_at: dict[str, tuple[int, int]] = {}  # message id -> where it was first charged
        self.caption = DEFAULT_CAPTION
        self.bank_changed = False
        self.events = 0

    @property
    def counts(self) -> dict[str, int]:
        return self.tally.counts

    def status(self, message_id: str) -> tuple[str, str]:
        """What the bank did with a message id so far: (words with a symbol, style)."""
        n = self.charges.get(message_id, 0)
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
            if first == (ev.partition, ev.offset):
                why = "its offset was not committed, so the re-delivery was processed again"
            else:
                why = "a second copy of it in the log was processed too"
            self.caption = f"{ev.txn_id} charged {n} times: {why}. No idempotency: the disaster."
        else:
            self._add(
                ev, "$", f"{ev.txn_id} charged {rupees(ev.amount)}, balance {rupees(ev.balance_after)}", GOOD
            )
            self.caption = f"{ev.txn_id} charged {rupees(ev.amount)} (delivery {ev.attempt})."

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
        text = _CONTROL_CAPTIONS.get(ev.name)
        if text is not None:
            self.caption = text.format(value=ev.value)


def _header(pid: int, epoch: int, seq: int) -> str:
    if pid == NO_PRODUCER:
        return "plain, no seq"
    return f"pid {pid} e{epoch} seq {seq}"


_CONTROL_CAPTIONS = {
    "lose_next_acks": "Hiccup armed: the broker's next acknowledgement will be lost.",
    "crash_before_next_commits": (
        "Hiccup armed: the consumer will crash after its next charge, before the commit."
    ),
    "crash_consumer": "k: the consumer is killed now.",
    "consumer": "Consumer mode: {value}.",
    "producer_idempotent": "Producer idempotence: {value} (the payment service restarts to apply it).",
    "restart_producer": "The payment service restarts: a new epoch; the old one is fenced.",
}

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
    ChargeSkipped: PipelineModel._skipped,
    ChargeDeclined: PipelineModel._declined,
    OffsetCommitted: PipelineModel._committed,
    CommitRefused: PipelineModel._commit_refused,
    ConsumerCrashed: PipelineModel._crashed,
    ConsumerStalled: PipelineModel._stalled,
    ConsumerEvicted: PipelineModel._evicted,
    Control: PipelineModel._control,
}


# -- the widgets -----------------------------------------------------------------------------------
_STATE_MARK = {"reading": "● reading", "idle": "○ idle", "stalled": "⧖ STALLED", "down": "✕ DOWN"}


def toggle_items(pipeline: Pipeline | None) -> list[tuple[str, str, str, bool]]:
    """(key, name, state in words and a symbol, alarming?) for each pipeline toggle."""
    if pipeline is None:
        return [("p", "pipeline", "opening…", False)]
    v = pipeline.view()
    consumer = _STATE_MARK.get(v.consumer_state, v.consumer_state)
    if v.epoch is not None:
        consumer += f" e{v.epoch}"
    mode = v.consumer_mode
    mode_state = "⚠ NAIVE" if mode == "naive" else f"● {mode}"
    running = v.producer_idempotent
    producer = "● idempotent" if running else "⚠ PLAIN"
    if v.producer_up and running != v.producer_idempotent_next:
        producer += " → " + ("idempotent" if v.producer_idempotent_next else "plain")
    if not v.producer_up:
        producer += " (restarting)"
    acks = v.lost_acks_armed
    crashes = v.crashes_armed
    return [
        ("k", "consumer", consumer, v.consumer_state in ("down", "stalled")),
        ("i", "mode", mode_state, mode == "naive"),
        ("I", "producer", producer, not running),
        ("h", "next ack", f"✕ lose {acks}" if acks else "· pass", bool(acks)),
        ("K", "next commit", f"✕ crash {crashes}" if crashes else "· pass", bool(crashes)),
    ]


class PipelineToggles(Widget):
    """The pipeline's switches and one-shots with their state, in words and symbols."""

    DEFAULT_CSS = """
    PipelineToggles { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.pipeline: Pipeline | None = None

    def render(self) -> RenderResult:
        width = self.size.width or 40
        cols = _columns(width)
        cell = width // cols
        out = Text(no_wrap=True, overflow="crop")
        items = toggle_items(self.pipeline)
        for i, (key, name, state, hot) in enumerate(items):
            piece = Text()
            piece.append(f"{key} ", style="bold reverse")
            piece.append(f"{name}: ")
            piece.append(state, style=HOT if hot else "")
            piece.truncate(cell - 1, pad=cols > 1 and i % cols < cols - 1)
            out.append_text(piece)
            if i % cols == cols - 1 and i < len(items) - 1:
                out.append("\n")
            elif cols > 1:
                out.append(" ")
        return recolour(out, styles(self))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return -(-len(toggle_items(self.pipeline)) // _columns(width))


def _columns(width: int) -> int:
    return max(1, min(3, width // 26))


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


class PipelinePanel(Widget):
    """Producer, the log per partition with the consumer's marks, the newest events, counters."""

    DEFAULT_CSS = """
    PipelinePanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.pipeline: Pipeline | None = None
        self.model = PipelineModel()

    def render(self) -> RenderResult:
        width, height = self.size
        pipeline = self.pipeline
        out = Text(no_wrap=True, overflow="crop")
        if pipeline is None or width < 20 or height < 1:
            out.append("opening the pipeline…" if pipeline is None else "")
            return out
        v = pipeline.view()
        model = self.model
        top = self._top(pipeline, v, width)
        if height < 8:
            top = top[1:]  # the consumer's line matters most when space is short
        counters = self._counters(width, short=height < 14)
        parts = len(v.log)
        room = height - len(top) - len(counters) - parts
        log_rows = max(0, min(sum(self._needed(v, p) for p in range(parts)), room - min(room // 3, 8)))
        if room - log_rows < 2:
            log_rows = max(0, room - 2) if room >= 4 else max(0, room)
        event_rows = max(0, room - log_rows)
        lines: list[Text] = list(top)
        per = log_rows // parts if parts else 0
        for p in range(parts):
            lines.extend(self._partition(pipeline, v, p, per + (1 if p < log_rows % parts else 0), width))
        if event_rows >= 2:
            lines.append(Text((f"─ events ({model.lines_total}) " + "─" * width)[:width], style=DIM))
            lines.extend(event_lines(model, event_rows - 1, width))
        while len(lines) < height - len(counters):
            lines.append(Text())
        lines = lines[: max(0, height - len(counters))] + counters
        joined = Text("\n", no_wrap=True, overflow="crop").join(_crop(line, width) for line in lines[:height])
        return recolour(joined, styles(self))

    def _needed(self, v: PipelineView, p: int) -> int:
        return len(v.log[p]) + 2  # the records, the committed marker and the column names

    def _top(self, pipeline: Pipeline, v: PipelineView, width: int) -> list[Text]:
        prod = Text(no_wrap=True, overflow="crop")
        prod.append("producer ", style="bold")
        if v.producer_id == NO_PRODUCER:
            prod.append("plain (no id, no seq)", style=DUP)
        else:
            prod.append(f"id {v.producer_id} epoch {v.producer_epoch}")
        flying = ", ".join(f"{m} #{a}" for m, _p, a in v.in_flight[:6]) or "none"
        if len(v.in_flight) > 6:
            flying += f" +{len(v.in_flight) - 6}"
        prod.append(f" · awaiting ack: {flying}")
        cons = Text(no_wrap=True, overflow="crop")
        cons.append("consumer ", style="bold")
        cons.append(
            _STATE_MARK.get(v.consumer_state, v.consumer_state),
            style=HOT if v.consumer_state in ("down", "stalled") else "",
        )
        if v.epoch is not None:
            cons.append(f" epoch {v.epoch}")
        cons.append(f" · {v.consumer_mode}")
        rec = v.in_hand
        if rec is not None:
            n = v.in_hand_deliveries
            cons.append(
                f" · in hand: {rec.message_id} @{rec.partition}/{rec.offset} (delivery {n})", style="bold"
            )
        else:
            cons.append(" · in hand: nothing")
        return [_crop(prod, width), _crop(cons, width)]

    def _partition(self, pipeline: Pipeline, v: PipelineView, p: int, rows: int, width: int) -> list[Text]:
        log = v.log[p]
        end = len(log)
        committed = v.committed[p]
        position = v.positions[p] if v.positions is not None else None
        head = Text(no_wrap=True, overflow="crop")
        head.append(f"log {v.topic}/{p}", style="bold")
        head.append(f": end {end} · committed {committed} · next {position if position is not None else '-'}")
        body: list[Text] = []
        columns = end > 0 and (rows >= end + 2 or rows >= 6)
        room = rows - 1 - columns  # records shown: the rest holds the committed marker (and column names)
        if room > 0:
            # Keep the committed offset in sight while it lags; otherwise show the newest records.
            anchor = min(committed, position if position is not None else committed)
            start = max(0, min(anchor - 1, end - room))
            if start:
                head.append(f" · {start} older above", style=DIM)
            if columns:
                body.append(self._columns(width))
            in_hand = v.in_hand
            for rec in log[start : start + room]:
                if rec.offset == committed:
                    body.append(_marker(committed, width))
                body.append(self._record(rec, position, in_hand, width))
            if committed >= min(end, start + room):
                body.append(_marker(committed, width))
        return [_crop(head, width), *body[:rows]]

    def _record(self, rec: Record, position: int | None, in_hand: Record | None, width: int) -> Text:
        row = Text(no_wrap=True, overflow="crop")
        wide = width >= 64
        if in_hand is not None and in_hand.partition == rec.partition and in_hand.offset == rec.offset:
            gutter, gstyle = ("▶ in hand " if wide else "▶ "), "bold"
        elif position is not None and rec.offset == position:
            gutter, gstyle = ("→ next    " if wide else "→ "), ""
        else:
            gutter, gstyle = ("          " if wide else "  "), ""
        row.append(gutter, style=gstyle)
        row.append(f"{rec.offset:>4} ", style="bold")
        row.append(f"{rec.message_id:<6}")
        header = "plain" if rec.producer_id == NO_PRODUCER else f"{rec.producer_id}/{rec.epoch}/{rec.seq}"
        row.append(f"{header:<11}", style=DIM)
        status, style = self.model.status(rec.message_id)
        row.append(status, style=style)
        copies = self.model.appended_ids.get(rec.message_id, 1)
        if copies > 1:
            row.append(f" ⧉ in log {copies}x", style=DUP)
        return _crop(row, width)

    def _columns(self, width: int) -> Text:
        gutter = "consumer  " if width >= 64 else "  "  # the gutter holds the consumer's marks
        return Text(_fit(f"{gutter} off msg   pid/ep/seq charges", width), style=DIM)

    def _counters(self, width: int, *, short: bool = False) -> list[Text]:
        c = self.model.counts
        doubles = len(self.model.double_charged)
        if short:
            line = Text(no_wrap=True, overflow="crop")
            line.append(f"charged {c['charged']} · skipped {c['skipped']} · ")
            line.append(f"dup dropped {c['duplicates_dropped']} · ")
            doubled = f"⚠ double-charged {doubles}" if doubles else "double-charged 0"
            line.append(doubled, style=HOT if doubles else "")
            line.append(f" · crashes {c['consumer_crashes']} · delivered {c['deliveries']}")
            return [_crop(line, width)]
        pieces = [
            f"produced {c['produced']}",
            f"appended {c['appended']}",
            f"acks lost {c['acks_lost']}",
            f"dup dropped {c['duplicates_dropped']}",
            f"delivered {c['deliveries']} ({c['redeliveries']} again)",
            f"charged {c['charged']}",
            f"skipped {c['skipped']}",
            f"crashes {c['consumer_crashes']}",
            f"refused {c['commits_refused']}",
        ]
        lines: list[Text] = [Text(no_wrap=True, overflow="crop")]
        for piece in [*pieces, f"⚠ double-charged {doubles}" if doubles else "double-charged 0"]:
            style = HOT if piece.startswith("⚠") else ""
            sep = " · " if lines[-1].cell_len else ""
            if lines[-1].cell_len and lines[-1].cell_len + len(sep) + cell_len(piece) > width:
                lines.append(Text(no_wrap=True, overflow="crop"))
                sep = ""
            lines[-1].append(sep)
            lines[-1].append(piece, style=style)
        return lines


def event_lines(model: PipelineModel, rows: int, width: int) -> list[Text]:
    """The newest events in `rows` lines; an event too long for one line goes on (indented) to up to
    two more, so a key event such as a crash between the charge and the commit is read whole."""
    out: list[list[Text]] = []
    used = 0
    indent = " " * 9
    for line in reversed(model.lines):
        if used >= rows:
            break
        t = (line.t - model.t0) / 1000
        head = f"{t:6.1f}s {line.symbol} "
        pieces = _wrap_words(line.text, width - len(head)) if width >= 30 else [line.text]
        pieces = pieces[: max(1, min(3, rows - used))]
        texts = [Text(_fit((head if i == 0 else indent) + piece, width), style=line.style)
                 for i, piece in enumerate(pieces)]
        out.append(texts)
        used += len(texts)
    return [piece for entry in reversed(out) for piece in entry]


def _wrap_words(words: str, room: int) -> list[str]:
    pieces: list[str] = []
    while cell_len(words) > room:
        cut = words.rfind(" ", 0, room + 1)
        if cut <= 0:
            cut = room
        pieces.append(words[:cut])
        words = words[cut:].lstrip()
    pieces.append(words)
    return pieces


def _marker(committed: int, width: int) -> Text:
    gutter = "┄┄┄┄┄┄┄┄┄┄" if width >= 64 else "┄┄"
    label = f"{gutter}┄ committed: a restart reads from {committed} "
    return Text((label + "┄" * width)[:width] if cell_len(label) <= width else _fit(label, width), style=MARK)


def _crop(text: Text, width: int) -> Text:
    if text.cell_len > width:
        text.truncate(width - 1)
        text.append("…")
    return text
