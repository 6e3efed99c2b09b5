"""The pipeline view's widgets: the toggles and the panel drawing the broker's log, offsets and events."""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from atm_tui.sim.pipeline.pipeline import NO_PRODUCER, PipelineView, Record
from atm_tui.ui.models.pipeline_model import DIM, DUP, HOT, MARK, PipelineModel, recolour
from atm_tui.ui.widgets.palette import styles
from atm_tui.ui.widgets.text import fit

# -- the widgets -----------------------------------------------------------------------------------
_STATE_MARK = {"reading": "● reading", "idle": "○ idle", "stalled": "⧖ STALLED", "down": "✕ DOWN"}


def toggle_items(v: PipelineView | None, keys: Mapping[str, str]) -> list[tuple[str, str, str, bool]]:
    """(key, name, state in words and a symbol, alarming?) for each pipeline toggle, from the
    pipeline's state (None while it opens); `keys` maps an action to the key the screen binds it to."""
    k = keys
    if v is None:
        return [(k["pipeline"], "pipeline", "opening…", False)]
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
        (k["crash_consumer"], "consumer", consumer, v.consumer_state in ("down", "stalled")),
        (k["consumer_mode"], "mode", mode_state, mode == "naive"),
        (k["producer_idempotence"], "producer", producer, not running),
        (k["lose_ack"], "next ack", f"✕ lose {acks}" if acks else "· pass", bool(acks)),
        (k["crash_before_commit"], "next commit", f"✕ crash {crashes}" if crashes else "· pass",
         bool(crashes)),
    ]


class PipelineToggles(Widget):
    """The pipeline's switches and one-shots with their state, in words and symbols."""

    DEFAULT_CSS = """
    PipelineToggles { height: auto; }
    """

    # The pipeline's state as the screen was given it (None while it opens); a new one redraws,
    # and a new number of rows lays the screen out again.
    state: reactive[PipelineView | None] = reactive(None, layout=True, always_update=True)

    def __init__(self, keys: Mapping[str, str], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.keys = keys  # action -> the key the screen binds it to, as the key bar writes it

    def render(self) -> RenderResult:
        width = self.size.width or 40
        cols = _columns(width)
        cell = width // cols
        out = Text(no_wrap=True, overflow="crop")
        items = toggle_items(self.state, self.keys)
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
        return -(-len(toggle_items(self.state, self.keys)) // _columns(width))


def _columns(width: int) -> int:
    return max(1, min(3, width // 26))


class PipelinePanel(Widget):
    """Producer, the log per partition with the consumer's marks, the newest events, counters."""

    DEFAULT_CSS = """
    PipelinePanel { height: 1fr; }
    """

    # The pipeline's state as the screen was given it (None while it opens): a new one redraws.
    state: reactive[PipelineView | None] = reactive(None, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.model = PipelineModel()

    def render(self) -> RenderResult:
        width, height = self.size
        v = self.state
        out = Text(no_wrap=True, overflow="crop")
        if v is None or width < 20 or height < 1:
            out.append("opening the pipeline…" if v is None else "")
            return out
        model = self.model
        top = self._top(v, width)
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
            lines.extend(self._partition(v, p, per + (1 if p < log_rows % parts else 0), width))
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

    def _top(self, v: PipelineView, width: int) -> list[Text]:
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

    def _partition(self, v: PipelineView, p: int, rows: int, width: int) -> list[Text]:
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
        return Text(fit(f"{gutter} off msg   pid/ep/seq charges", width), style=DIM)

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
            *([f"rolled back {c['rolled_back']}"] if c["rolled_back"] else []),
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
        texts = [Text(fit((head if i == 0 else indent) + piece, width), style=line.style)
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
    return Text((label + "┄" * width)[:width] if cell_len(label) <= width else fit(label, width), style=MARK)


def _crop(text: Text, width: int) -> Text:
    if text.cell_len > width:
        text.truncate(width - 1)
        text.append("…")
    return text
