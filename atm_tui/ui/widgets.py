"""The panes: ATM, network (fault toggles and sequence diagram), bank, and the key bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Digits, Static

from atm_tui.bank.money import rupees
from atm_tui.bank.service import BankSnapshot
from atm_tui.ui import outcomes
from atm_tui.ui.view import ARRIVED, FLYING, LOST, NOTE, REPLY, REQUEST, Row, View

# Colour is never the only signal: every style goes with a symbol or a word. The colours are the
# theme's (outcomes.ROLE_VARIABLES), so the projector theme recolours every pane.
NOTE_STYLE = "italic"
_PALETTES: dict[str, dict[str, str]] = {}


def styles(widget: Widget) -> dict[str, str]:
    """Colour role -> style, in the colours of the app's current theme."""
    try:
        app = widget.app
    except Exception:  # not mounted: the default theme's colours
        return outcomes.palette()
    theme = app.current_theme
    palette = _PALETTES.get(theme.name)
    if palette is None:
        colours = {var: getattr(theme, var, None) for var in set(outcomes.ROLE_VARIABLES.values())}
        palette = _PALETTES[theme.name] = outcomes.palette({k: v for k, v in colours.items() if v})
    return palette


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


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
            head = "    t ATM" + " " * max(0, inner - 6) + "Bank"
            out.append(_fit(head, width) + "\n", style="bold underline")
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
            text = _fit(row.label, inner)
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
        out.append(" " + _fit(note, note_w - 1), style=self._pal.get(role, ""))

    def _request(self, out: Text, row: Row, label: str, inner: int) -> None:
        style = self._pal["dup"] if row.duplicate else self._pal["request"]
        lost_style = self._pal["lost"]
        body = f"─ {label} "
        if row.state == ARRIVED:
            out.append(_fit(body.ljust(inner - 1, "─") + "▶", inner), style=style)
        elif row.state == LOST:
            reach = max(len(body) + 2, inner * 2 // 3)
            arrow = _fit(body.ljust(reach - 1, "─"), reach - 1)
            out.append(arrow, style=style)
            out.append("✕", style=lost_style)
            out.append(" " * max(0, inner - reach))
        else:  # in flight
            reach = max(len(body) + 2, inner // 2)
            out.append(_fit(body.ljust(reach - 1, "─") + "▷", reach), style=style)
            out.append(" " * max(0, inner - reach))

    def _reply(self, out: Text, row: Row, label: str, inner: int) -> None:
        style = self._pal.get(row.mark.role if row.mark else "fresh", "")
        body = f" {label} ─"
        if row.state == ARRIVED:
            out.append(_fit("◀" + body.rjust(inner - 1, "─"), inner), style=style)
        elif row.state == LOST:
            reach = max(len(body) + 2, inner * 2 // 3)
            out.append(" " * max(0, inner - reach))
            out.append("✕", style=self._pal["lost"])
            out.append(_fit(body.rjust(reach - 1, "─"), reach - 1), style=style)
        else:
            reach = max(len(body) + 2, inner // 2)
            out.append(" " * max(0, inner - reach))
            out.append(_fit("◁" + body.rjust(reach - 1, "─"), reach), style=style)


def _wrap_note(text: str, width: int) -> list[str]:
    """A lane note over at most two lines of `width` cells, broken between words."""
    if cell_len(text) <= width or width < 8:
        return [_fit(text, width)]
    cut = text.rfind(" ", 0, width + 1)
    if cut <= 0:
        return [_fit(text, width)]
    return [text[:cut], _fit(text[cut + 1 :], width)]


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
    one = [[_fit(r.label, inner)] if r.state == NOTE else [] for r in rows]
    newest = list(range(max(0, len(rows) - room), len(rows)))
    if current:
        older = [i for i in range(newest[0]) if rows[i].key and rows[i].txn == current]
        # Up to all but one line (the newest stays): on the smallest screens the evidence is all
        # there is room for, and what the bank did (a debit, a crash) comes before what was lost.
        by_weight = sorted(older, key=lambda i: (rows[i].direction == "bank", i), reverse=True)
        pinned = sorted(by_weight[: room - 1]) if room >= 2 else []
        if pinned:
            ordinary = [i for i in newest if not (rows[i].key and rows[i].txn == current)]
            drop = set(ordinary[: len(pinned)])
            pinned = pinned[len(pinned) - min(len(pinned), len(drop)) :]
            newest = sorted(pinned + [i for i in newest if i not in drop])
    return [(rows[i], one[i]) for i in newest]


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


@dataclass(slots=True)
class Toggles:
    """The fault toggles' state as the engine holds it, for display only."""

    drop_next_replies: int = 0
    drop_next_requests: int = 0
    duplicate_next: int = 0
    drop_all_replies: bool = False
    auto_retry: bool = True
    mode: str = "idempotent"
    compare: bool = False
    request_drop: float = 0.0
    reply_drop: float = 0.0
    request_duplicate: float = 0.0
    crash_in_gap: int = 0  # split mode: crashes armed between the debit and the key (x)


class TogglePanel(Widget):
    """Fault toggles with their state, in words and symbols (not only colour)."""

    DEFAULT_CSS = """
    TogglePanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.state = Toggles()

    def items(self) -> list[tuple[str, str, str, bool]]:
        s = self.state
        return [
            ("h", "next reply", _armed("✕ drop", s.drop_next_replies), bool(s.drop_next_replies)),
            ("H", "next request", _armed("✕ drop", s.drop_next_requests), bool(s.drop_next_requests)),
            ("u", "duplicate", _armed("⧉ next", s.duplicate_next), bool(s.duplicate_next)),
            ("d", "all replies", "✕ DROPPED" if s.drop_all_replies else "· pass", s.drop_all_replies),
            ("a", "auto-retry", "✓ on" if s.auto_retry else "✗ OFF", not s.auto_retry),
            ("i", "bank", "● idempotent" if s.mode == "idempotent" else f"⚠ {s.mode.upper()}",
             s.mode != "idempotent"),
        ] + ([("x", "crash gap", _armed("✕ crash", s.crash_in_gap), bool(s.crash_in_gap))]
             if s.mode == "split" else [])  # fmt: skip

    def render(self) -> RenderResult:
        width = self.size.width or 40
        cols = _toggle_columns(width)
        cell = width // cols
        out = Text(no_wrap=True, overflow="crop")
        hot = styles(self)["hot"]
        if _any_rate(self.state):
            out.append("S", style="bold reverse")
            out.append(" random faults: ")
            out.append(_rates(self.state) + "\n", style=hot)
        items = self.items()
        for i, (key, name, state, on) in enumerate(items):
            piece = Text()
            piece.append(f"{key} ", style="bold reverse")
            piece.append(f"{name}: ")
            piece.append(state, style=hot if on else "")
            last = i % cols == cols - 1
            # Every column but the last is padded to its cell, so the columns line up row to row.
            piece.truncate(cell - 1, pad=cols > 1 and not last)
            out.append_text(piece)
            if last and i < len(items) - 1:
                out.append("\n")
            elif cols > 1 and not last:
                out.append(" ")
        return out

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return -(-len(self.items()) // _toggle_columns(width)) + _any_rate(self.state)


def _any_rate(s: Toggles) -> bool:
    return bool(s.request_drop or s.reply_drop or s.request_duplicate)


def _rates(s: Toggles) -> str:
    dup = f"⧉ duplicate {s.request_duplicate:.0%}"
    return f"✕ request {s.request_drop:.0%} · ✕ reply {s.reply_drop:.0%} · {dup}"


def _armed(what: str, n: int) -> str:
    return f"{what} {n}" if n else "· pass"


def _toggle_columns(width: int) -> int:
    return max(1, min(3, width // 25))


def set_text(widget: Static, text: Text | str) -> None:
    """Update a Static only when its text changed, and re-lay out the screen only when its height
    would change: a layout pass repaints every pane, a plain refresh repaints this one."""
    if getattr(widget, "_atm_shown", None) == text:
        return
    widget._atm_shown = text  # type: ignore[attr-defined]
    rich = text if isinstance(text, Text) else Text(text)
    width = widget.content_size.width
    if width <= 0:
        # Not on screen (hidden pane, or not laid out yet): showing it will lay it out anyway.
        widget._atm_lines = None  # type: ignore[attr-defined]
        widget.update(text, layout=False)
        return
    lines = len(rich.wrap(widget.app.console, width))
    layout = lines != getattr(widget, "_atm_lines", None)
    widget._atm_lines = lines  # type: ignore[attr-defined]
    widget.update(text, layout=layout)


_set = set_text


class PathLine(Static):
    """`db: PATH`, folded over lines after a `/` when it must be, never inside a name."""

    DEFAULT_CSS = """
    PathLine { height: auto; }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.path = ""

    def set_path(self, path: str) -> None:
        if path != self.path:
            self.path = path
            self.refresh(layout=True)

    def _lines(self, width: int) -> list[str]:
        return fold_path(f"db: {self.path}", width)

    def render(self) -> RenderResult:
        return Text("\n".join(self._lines(self.size.width or 80)), no_wrap=True, overflow="crop")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))


def fold_path(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken after a `/` (or a space); mid-name only if a name is longer."""
    if width <= 0:
        return [text]
    lines: list[str] = []
    while cell_len(text) > width:
        head = text[:width]
        cut = max(head.rfind("/"), head.rfind(" ")) + 1
        if cut <= 0:
            cut = width
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines


class AtmPane(Vertical):
    """What the customer sees, the receipt, and what the ATM believes about each attempt."""

    def compose(self) -> ComposeResult:
        yield Static(id="atm-status")
        yield Static(id="atm-screen")
        yield Static(id="atm-receipt")
        yield Static(id="atm-beliefs")

    def on_mount(self) -> None:
        self.border_title = "ATM"
        self.query_one("#atm-screen").border_title = "screen"
        self.query_one("#atm-receipt").border_title = "receipt"

    def on_resize(self) -> None:
        # The longest title that fits the frame: a cut title ("what the ATM be…") reads as a bug.
        beliefs = self.query_one("#atm-beliefs")
        room = beliefs.outer_size.width - 4
        for title in ("what the ATM believes", "ATM believes", "believes"):
            if len(title) <= room:
                break
        if beliefs.border_title != title:
            beliefs.border_title = title

    def show(self, view: View, amount: int) -> None:
        atm = view.atm
        screen = Text()
        screen.append(atm.screen + "\n", style="bold")
        screen.append(atm.detail)
        if atm.hint and all(self.screen.check_action(a, ()) is True for a in atm.hint_actions):
            screen.append(f"\n{atm.hint}")
        if not atm.txn_id:
            # Name the key only while it works (a scenario refuses it).
            change = " (m to change)" if self.screen.check_action("amount", ()) is True else ""
            screen.append(f"\nAmount: {rupees(amount)}{change}")
        if view.storm_total:
            screen.append(f"\nStorm: {view.storm_done} of {view.storm_total} finished")
        _set(self.query_one("#atm-screen", Static), screen)
        # One line for when the pane is squeezed to a strip (compare mode at 80 columns).
        status = Text(no_wrap=True, overflow="ellipsis")
        status.append("ATM ", style="bold reverse")
        status.append(" " + atm.screen, style="bold")
        _set(self.query_one("#atm-status", Static), status)
        receipt = Text()
        r = atm.receipt
        pal = styles(self)
        if r is None:
            receipt.append("no receipt yet", style="italic")
        else:
            what = rupees(r.amount) if r.op == "withdraw" else (
                f"{r.op} {rupees(r.amount)}" if r.amount else r.op)
            receipt.append(f"{r.txn_id}  {what}\n", style="bold")
            receipt.append(f"outcome: {r.outcome}\n")
            if r.balance_after is not None:
                receipt.append(f"balance after: {rupees(r.balance_after)}\n")
            receipt.append("reply: ")
            if r.outcome == "unknown" and r.status == "in_progress":
                label = outcomes.BUSY
                receipt.append(str(label), style=pal.get(label.role, ""))
                receipt.append(" only, no final answer")
            elif r.outcome == "unknown":
                receipt.append("none arrived", style="bold")
            else:
                label, meaning = outcomes.receipt_reply(r.status, r.replayed)
                receipt.append(str(label), style=pal.get(label.role, ""))
                receipt.append(meaning)
            receipt.append(f"\nattempts: {r.attempts}")
            if r.bank_says:
                receipt.append(f"\nbank says: {r.bank_says}", style="bold")
        _set(self.query_one("#atm-receipt", Static), receipt)
        beliefs = Text()
        if not atm.attempts:
            beliefs.append("nothing sent yet", style="italic")
        else:
            beliefs.append(f"{atm.txn_id}\n", style="bold")
        for i, a in enumerate(atm.attempts[-8:]):
            if i:
                beliefs.append("\n")
            beliefs.append(f"#{a.number} ", style="bold")
            beliefs.append(a.state)
        _set(self.query_one("#atm-beliefs", Static), beliefs)


class BankPane(Vertical):
    """One bank as stored in SQLite: balance in large figures and in words, ledger, keys, deliveries."""

    def __init__(self, title: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.title = title

    def compose(self) -> ComposeResult:
        yield PathLine(classes="bank-path")
        yield Digits("", classes="bank-digits")
        yield Static(classes="bank-plain")
        yield Static(classes="bank-flags")
        yield Static(classes="bank-opened")
        with VerticalScroll(classes="bank-lists"):
            yield Static(classes="bank-keys")
            yield Static(classes="bank-ledger")
            yield Static(classes="bank-deliveries")

    def on_mount(self) -> None:
        self.border_title = self.title

    def on_resize(self) -> None:
        # On a short screen the ledger comes before the keys: it is the evidence of what was paid.
        short = self.app.size.height < SHORT_SCREEN
        lists = self.query_one(".bank-lists")
        ledger = self.query_one(".bank-ledger")
        keys = self.query_one(".bank-keys")
        if short != (lists.children.index(ledger) < lists.children.index(keys)):
            if short:
                lists.move_child(ledger, before=keys)
            else:
                lists.move_child(ledger, after=keys)

    def show(self, snap: BankSnapshot, path: str, mode: str, *, rows: int = 8) -> None:
        self.border_subtitle = mode
        # The whole path, folded over lines if it must be: people type it into sqlite3.
        self.query_one(PathLine).set_path(path)
        digits = self.query_one(".bank-digits", Digits)
        # An order or a vote moves no money: its table is the story, not the account's figure.
        moneyless = bool(snap.operations) and not snap.ledger_count and "payments" not in snap.operations
        digits.styles.display = "none" if moneyless else None
        if digits.value != f"{snap.balance:,}":
            digits.update(f"{snap.balance:,}")
        plain = Text()
        plain.append(f"Balance: {rupees(snap.balance)}", style="bold")
        spent = snap.opening_balance - snap.balance
        _set(self.query_one(".bank-plain", Static), plain)
        opened = f"opened {rupees(snap.opening_balance)}, paid out {rupees(spent)}"
        kept = kept_opening(self.app, snap.opening_balance) if self.id == "bank" else None
        if kept is not None:
            # The file's own account wins over --opening-balance: say so, never ignore it silently.
            opened += (
                f"\n--opening-balance {rupees(kept)} not applied: this file already has its account"
                " (it applies to a new file, or with --fresh)"
            )
        if len(snap.clients) > 1:  # one bank, many clients: say who wrote what is listed here
            opened += "\nclients: " + ", ".join(c or "(anonymous)" for c in snap.clients)
        _set(self.query_one(".bank-opened", Static), opened)
        ledger = Text()
        for table, (total, op_rows) in snap.operations.items():
            ledger.append(f"{table.capitalize()}: {total} row{'s' if total != 1 else ''}\n", style="bold")
            for op in op_rows[:rows]:
                keyed = ("Idempotency-Key " + op.name if op.keyed else f"{op.name}, no key") \
                    if table == "payments" else op.name
                ledger.append(f"#{op.id} {keyed}: {op.what}\n")
        plural = "s" if snap.ledger_count != 1 else ""
        ledger.append(f"Ledger: {snap.ledger_count} row{plural} (Rs)\n", style="bold")
        for _id, txn, amount, after, _at in snap.ledger[:rows]:
            ledger.append(f"#{_id} {txn} -{amount:,} → {after:,}\n")
        _set(self.query_one(".bank-ledger", Static), ledger)
        keys = Text()
        if not snap.key_count:
            none = "none stored (naive: no check)" if mode == "naive" else "none yet"
            keys.append(f"Keys: {none}\n", style="bold")
        else:
            keys.append(f"Keys: {snap.key_count}\n", style="bold")
        for k in snap.keys[:rows]:
            keys.append(outcomes.key_line(k.key, k.deliveries, k.status, k.debits, k.hits) + "\n")
        # Every id the whole ledger holds more than once (a query over the file, not the rows
        # listed): the naive bank's damage stays flagged however many rows come after it.
        flags = Text(style=styles(self)["hot"])
        shown = snap.repeated[-rows:]
        for txn, n in shown:
            flags.append(f"{chr(10) if flags else ''}⚠ {txn}: debited {_times(n)}")
        if len(snap.repeated) > len(shown):
            flags.append(f"\n⚠ and {len(snap.repeated) - len(shown)} more ids debited more than once")
        for table, name, n in snap.repeated_operations:
            if table != "payments":  # a payment's double charge is in the ledger's flags already
                flags.append(f"{chr(10) if flags else ''}⚠ {name}: {n} rows in {table}")
        # Right under the balance, so no screen size hides the damage.
        flags_widget = self.query_one(".bank-flags", Static)
        flags_widget.display = bool(flags)
        _set(flags_widget, flags)
        _set(self.query_one(".bank-keys", Static), keys)
        deliveries = Text()
        deliveries.append(f"Deliveries: {snap.delivery_count}\n", style="bold")
        for _id, txn, attempt, outcome, _at in snap.deliveries[:rows]:
            label = outcomes.delivery(outcome)
            deliveries.append(f"{label.glyph} {txn} #{attempt} {label.word}\n")
        _set(self.query_one(".bank-deliveries", Static), deliveries)


def kept_opening(app: object, stored: int) -> int | None:
    """The opening balance the app was started with, when the file kept a different one."""
    settings = getattr(app, "settings", None)
    asked = getattr(settings, "opening_balance", None)
    if settings is None or not isinstance(asked, int) or asked == stored:
        return None
    if any(getattr(settings, name, None) for name in ("fresh", "scenario", "player")):
        return None
    return asked


SHORT_SCREEN = 30  # rows: below this the big figures give way to the ledger


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


class KeyBar(Widget):
    """Every key of the contract, wrapped over as many lines as the width needs (dimmed when idle)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $panel; }
    """

    def __init__(
        self,
        keys: Iterable[Binding],
        enabled: Callable[[str], bool],
        *,
        id: str | None = None,  # noqa: A002
        shown: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(id=id)
        self.keys = list(keys)
        self.enabled = enabled
        self.shown = shown or (lambda action: True)
        # check_action's answers as of the app's last redraw: painting later must not mix states.
        self.states: dict[str, bool | None] | None = None

    def _lines(self, width: int) -> list[Text]:
        lines: list[Text] = [Text()]
        states = self.states
        for b in self.keys:
            shown = self.shown(b.action) if states is None else states.get(b.action) is not False
            if not shown:
                continue  # a key that means something else in this mode: its other meaning is listed
            enabled = self.enabled(b.action) if states is None else states.get(b.action) is True
            piece = Text()
            piece.append(b.key_display or b.key, style="bold reverse")
            piece.append(f" {b.description}  ", style="" if enabled else "dim")
            # The trailing gap may hang past the edge; only the label itself must fit.
            if lines[-1].cell_len and lines[-1].cell_len + len(piece.plain.rstrip()) > width:
                lines.append(Text())
            lines[-1].append_text(piece)
        return lines

    def render(self) -> RenderResult:
        return Text("\n").join(self._lines(self.size.width or 80))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))
