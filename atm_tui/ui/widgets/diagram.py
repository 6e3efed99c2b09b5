"""The sequence diagram: ATM, network and bank lanes, one row per recorded message or note."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from atm_tui.ui.models import outcomes
from atm_tui.ui.models.rows import ARRIVED, FLYING, LOST, NOTE, REPLY, REQUEST, Row
from atm_tui.ui.models.view import View
from atm_tui.ui.widgets.palette import NOTE_STYLE, styles
from atm_tui.ui.widgets.text import fit


class SequenceDiagram(Widget):
    """ATM and Bank lanes; the newest rows at the bottom. Only what fits is drawn; the view is bounded."""

    DEFAULT_CSS = """
    SequenceDiagram { height: 1fr; }
    """

    def __init__(self, view: View, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.view = view
        self.t0 = 0
        self._pal = outcomes.palette()

    def render(self) -> RenderResult:
        width, height = self.size
        out = Text(no_wrap=True, overflow="crop")
        if width < 24 or height < 1:
            return out
        note_w = 11 if width >= 44 else 9
        atm_x = 6
        bank_x = width - note_w - 1
        inner = bank_x - atm_x - 1
        header = height >= 6
        if header:
            client = outcomes.story(self.view.atm.op).title  # the story's own client: ATM, Shop, Booth
            head = f"    t {client}" + " " * max(0, inner - 3 - len(client)) + "Bank"
            out.append(fit(head, width) + "\n", style="bold underline")
        room = height - header
        pal = styles(self)
        self._pal = pal
        lines: list[Text] = []
        for row, notes in pick_rows(list(self.view.rows), room, inner, self.view.atm.txn_id):
            if notes:
                for i, note in enumerate(notes):
                    line = Text()
                    self._time(line, row if i == 0 else None)
                    placed = note.rjust(inner) if row.direction == "bank" else note.ljust(inner)
                    line.append(placed, style=_note_style(row, pal))
                    line.append("│")
                    lines.append(line)
            else:
                line = Text()
                self._line(line, row, inner, note_w)
                lines.append(line)
        out.append_text(Text("\n").join(lines))
        return out

    def _time(self, out: Text, row: Row | None) -> None:
        if row is None:
            out.append(" " * 5)
        else:
            secs = (row.t - self.t0) / 1000
            # Seconds as stored (`at` / 1000); a long-lived bank's clock drops the tenths,
            # then goes to minutes.
            if secs < 1_000:
                shown = f"{secs:5.1f}"
            else:
                shown = f"{secs:5.0f}" if secs < 100_000 else f"{secs / 60:4.0f}m"
            out.append(shown[-5:], style="dim")
        out.append("│")

    def _line(self, out: Text, row: Row, inner: int, note_w: int) -> None:
        self._time(out, row)
        label = ("⧉ " if row.duplicate else "") + row.label
        if row.state == NOTE:
            text = fit(row.label, inner)
            placed = text.rjust(inner) if row.direction == "bank" else text.ljust(inner)
            out.append(placed, style=_note_style(row, self._pal))
            out.append("│")
            return
        if row.direction == REQUEST:
            self._request(out, row, label, inner)
        else:
            self._reply(out, row, label, inner)
        out.append("│")
        note, role = _note(row)
        out.append(" " + fit(note, note_w - 1), style=self._pal.get(role, ""))

    def _request(self, out: Text, row: Row, label: str, inner: int) -> None:
        style = self._pal["dup"] if row.duplicate else self._pal["request"]
        lost_style = self._pal["lost"]
        body = f"─ {label} "
        if row.state == ARRIVED:
            out.append(fit(body.ljust(inner - 1, "─") + "▶", inner), style=style)
        elif row.state == LOST:
            reach = max(len(body) + 2, inner * 2 // 3)
            arrow = fit(body.ljust(reach - 1, "─"), reach - 1)
            out.append(arrow, style=style)
            out.append("✕", style=lost_style)
            out.append(" " * max(0, inner - reach))
        else:  # in flight
            reach = max(len(body) + 2, inner // 2)
            out.append(fit(body.ljust(reach - 1, "─") + "▷", reach), style=style)
            out.append(" " * max(0, inner - reach))

    def _reply(self, out: Text, row: Row, label: str, inner: int) -> None:
        style = self._pal.get(row.mark.role if row.mark else "fresh", "")
        body = f" {label} ─"
        if row.state == ARRIVED:
            out.append(fit("◀" + body.rjust(inner - 1, "─"), inner), style=style)
        elif row.state == LOST:
            reach = max(len(body) + 2, inner * 2 // 3)
            out.append(" " * max(0, inner - reach))
            out.append("✕", style=self._pal["lost"])
            out.append(fit(body.rjust(reach - 1, "─"), reach - 1), style=style)
        else:
            reach = max(len(body) + 2, inner // 2)
            out.append(" " * max(0, inner - reach))
            out.append(fit("◁" + body.rjust(reach - 1, "─"), reach), style=style)


def _wrap_note(text: str, width: int) -> list[str]:
    """A lane note over at most two lines of `width` cells, broken between words."""
    if cell_len(text) <= width or width < 8:
        return [fit(text, width)]
    cut = text.rfind(" ", 0, width + 1)
    if cut <= 0:
        return [fit(text, width)]
    return [text[:cut], fit(text[cut + 1 :], width)]


def pick_rows(rows: list[Row], room: int, inner: int, current: str) -> list[tuple[Row, list[str]]]:
    """The rows the diagram draws, oldest first, in at most `room` lines.

    When everything fits, a long note takes a second line. When it does not, every row takes one
    line, and the rows that carry the current story (its debits, its losses, a crash, an unknown
    outcome) stay on screen in place of the oldest ordinary rows: a short screen loses the detail,
    never the evidence.
    """
    if room <= 0 or not rows:
        return []
    wrapped = [_wrap_note(r.label, inner) if r.state == NOTE else [] for r in rows]
    need = sum(max(1, len(w)) for w in wrapped)
    if need <= room:
        return list(zip(rows, wrapped, strict=True))
    one = [[fit(r.label, inner)] if r.state == NOTE else [] for r in rows]
    # Always the newest row, and the newest request that reached the bank (an arrival): a short
    # screen still shows that the bank got it.
    must = [len(rows) - 1]
    arrived = [i for i, r in enumerate(rows) if r.direction == REQUEST and r.state == ARRIVED]
    if arrived and arrived[-1] not in must and room >= 2:
        must.append(arrived[-1])
    chosen = set(must)
    if current:
        # Then the current story's evidence, as much as fits: what the bank did (a debit, a
        # crash) before what was lost, the newest first.
        evidence = [i for i, r in enumerate(rows) if r.key and r.txn == current and i not in chosen]
        by_weight = sorted(evidence, key=lambda i: (rows[i].direction == "bank", i), reverse=True)
        chosen.update(by_weight[: room - len(chosen)])
    # The rest of the room: the newest rows.
    for i in range(len(rows) - 1, -1, -1):
        if len(chosen) >= room:
            break
        chosen.add(i)
    return [(rows[i], one[i]) for i in sorted(chosen)]


def _note_style(row: Row, pal: dict[str, str]) -> str:
    # A crash is the one note that must stand out: ✕ and the alarm colour.
    if row.direction == "bank" and row.label.startswith("✕"):
        return pal["lost"]
    return NOTE_STYLE


def _note(row: Row) -> tuple[str, str]:
    """The right-hand note of a message row and its colour role."""
    if row.state == LOST:
        return "✕ LOST", "lost"
    if row.direction == REQUEST:
        if row.state == FLYING:
            return "… wire", ""
        if row.duplicate:
            return "⧉ copy 2" if row.note == "copy 2" else "⧉ copy 1", "dup"
        return "arrived", "request"
    if row.direction == REPLY:
        mark = row.mark or outcomes.reply("", row.note == "replayed")
        text = str(mark)
        return (f"{text}…" if row.state == FLYING else text), mark.role
    return row.note, ""
