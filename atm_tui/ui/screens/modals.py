"""Modal screens: help, the reset confirmation, the amount entry, and a database error."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from atm_tui.bank.money import AmountError, parse_amount, rupees
from atm_tui.ui.models import glossary

PRESETS = (1_000, 2_000, 5_000, 10_000)

LESSON = (
    "Exactly-once is at-least-once delivery plus idempotent processing. The ATM retries with the "
    "same id when an answer is lost; the bank stores each id's answer in the same transaction as "
    "the debit, so a duplicate gets the stored answer back and no second debit.\n"
    "The story: on a fresh bank press h h w. T123 reaches the bank three times, one ledger row, "
    "Rs 45,000. Then press i (naive bank) and h h w again: every delivery debits.\n"
    "The log pipeline: press p. w produces a charge message, K crashes the consumer after its next "
    "charge and before its offset commit, i cycles the consumer naive → idempotent → transactional. "
    "Naive: the re-delivery is charged twice (⚠ DOUBLE). The other two charge it once."
)


class HelpScreen(ModalScreen[None]):
    """Every key of the contract with what it does; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "close", id="help.close"),
        Binding("question_mark", "dismiss", "close", show=False),
        Binding("q", "dismiss", "close", show=False),
    ]

    def __init__(self, rows: list[tuple[Binding, str]]) -> None:
        super().__init__()
        self.rows = rows  # the keys of the screen under the help, each with why it is off ("" if on)

    def compose(self) -> ComposeResult:
        # Two columns: a description wraps inside its own column, never back under the keys.
        table = Table.grid(padding=(0, 2, 0, 0))
        table.add_column(justify="right", no_wrap=True, style="bold")
        table.add_column(ratio=1)
        for b, off in self.rows:
            note = f" ({off})" if off else ""
            table.add_row(
                Text(b.key_display or b.key, style="dim" if off else ""),
                Text(f"{b.tooltip}{note}", style="dim" if off else ""),
            )
        with Vertical(id="help-box"):
            yield Label("atm-tui: the lesson and every key", id="help-title")
            with VerticalScroll():
                # The lesson first: on a small screen the keys are what scrolls out of view.
                yield Static(LESSON, id="help-lesson")
                yield Static(glossary_table(), id="help-glossary")
                yield Static(table, id="help-keys")
            yield Label("↑↓ scroll · escape, ? or q: close · ctrl+p: command palette", id="help-foot")


def glossary_table() -> Table:
    """The lesson's words as the screen uses them, one line each (the glossary module's table)."""
    table = Table.grid(padding=(0, 2, 0, 0))
    table.add_column(justify="right", no_wrap=True, style="bold")
    table.add_column(ratio=1)
    table.add_row(Text("Words", style="bold underline"), Text(""))
    for term in glossary.TERMS:
        table.add_row(term.word, term.meaning)
    table.add_row(Text("Keys", style="bold underline"), Text(""))
    return table


class ConfirmScreen(ModalScreen[bool]):
    """Ask before something that cannot be undone (resetting the bank)."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes", id="confirm.yes"),
        Binding("n", "answer(False)", "no", id="confirm.no"),
        Binding("escape", "answer(False)", "no", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("y  Yes, reset", id="yes", variant="error")
                yield Button("n  No", id="no", variant="primary")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AmountScreen(ModalScreen[int | None]):
    """Preset buttons, or a typed amount checked with parse_amount; a bad one says what is accepted."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="amount.cancel")]
    AUTO_FOCUS = "#amount-input"

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="amount-box"):
            yield Label(f"Amount to withdraw (now {rupees(self.current)})", id="amount-title")
            with Horizontal(id="amount-presets"):
                for value in PRESETS:
                    yield Button(rupees(value), id=f"preset-{value}")
            entry = Input(placeholder="or type an amount, e.g. 2500 or Rs 2,500", id="amount-input")
            entry.cursor_blink = self.app.animation_level != "none"
            yield entry
            yield Static("", id="amount-error")
            yield Label("enter: use the typed amount · tab: presets · escape: cancel", id="amount-foot")

    @on(Button.Pressed)
    def _preset(self, event: Button.Pressed) -> None:
        ident = event.button.id or ""
        if ident.startswith("preset-"):
            self.dismiss(int(ident.removeprefix("preset-")))

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        try:
            value = parse_amount(event.value)
        except AmountError as exc:
            self.query_one("#amount-error", Static).update(Text(f"✕ {exc}", style="bold"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorScreen(ModalScreen[None]):
    """The bank's file could not be used: say why and what would work; q quits."""

    BINDINGS = [Binding("q", "app.quit", "quit", id="error.quit"), Binding("escape", "app.quit", show=False)]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label("The bank's database cannot be used", id="error-title")
            yield Static(self.message, id="error-message")
            yield Label(
                "Start again with --db PATH (a new file or an atm-tui bank).\nq: quit", id="error-foot"
            )
