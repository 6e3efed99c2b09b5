"""The bank's pane: balance, ledger, idempotency keys and deliveries, read from the file."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Digits, Static

from atm_tui.bank.money import rupees
from atm_tui.bank.service import BankSnapshot
from atm_tui.ui.models import outcomes
from atm_tui.ui.widgets.palette import styles
from atm_tui.ui.widgets.path_line import PathLine
from atm_tui.ui.widgets.text import set_text


class BankPane(Vertical):
    """One bank as stored in SQLite: balance in large figures and in words, ledger, keys, deliveries."""

    # Set by the screen from its height: on a short screen the ledger comes before the keys.
    short: reactive[bool] = reactive(False)

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

    def watch_short(self, short: bool) -> None:
        # On a short screen the ledger comes before the keys: it is the evidence of what was paid.
        lists = self.query_one(".bank-lists")
        ledger = self.query_one(".bank-ledger")
        keys = self.query_one(".bank-keys")
        if short != (lists.children.index(ledger) < lists.children.index(keys)):
            if short:
                lists.move_child(ledger, before=keys)
            else:
                lists.move_child(ledger, after=keys)

    def show(
        self, snap: BankSnapshot, path: str, mode: str, *, rows: int = 8, asked: int | None = None
    ) -> None:
        """`asked`: the opening balance the app was started with, when it may differ from the file's."""
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
        set_text(self.query_one(".bank-plain", Static), plain)
        opened = f"opened {rupees(snap.opening_balance)}, paid out {rupees(spent)}"
        if asked is not None and asked != snap.opening_balance:
            # The file's own account wins over --opening-balance: say so, never ignore it silently.
            opened += (
                f"\n--opening-balance {rupees(asked)} not applied: this file already has its account"
                " (it applies to a new file, or with --fresh)"
            )
        if len(snap.clients) > 1:  # one bank, many clients: say who wrote what is listed here
            opened += "\nclients: " + ", ".join(c or "(anonymous)" for c in snap.clients)
        set_text(self.query_one(".bank-opened", Static), opened)
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
        set_text(self.query_one(".bank-ledger", Static), ledger)
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
            flags.append(f"{chr(10) if flags else ''}⚠ {txn}: debited {outcomes.times(n)}")
        if len(snap.repeated) > len(shown):
            flags.append(f"\n⚠ and {len(snap.repeated) - len(shown)} more ids debited more than once")
        for table, name, n in snap.repeated_operations:
            if table != "payments":  # a payment's double charge is in the ledger's flags already
                flags.append(f"{chr(10) if flags else ''}⚠ {name}: {n} rows in {table}")
        # Right under the balance, so no screen size hides the damage.
        flags_widget = self.query_one(".bank-flags", Static)
        flags_widget.display = bool(flags)
        set_text(flags_widget, flags)
        set_text(self.query_one(".bank-keys", Static), keys)
        deliveries = Text()
        deliveries.append(f"Deliveries: {snap.delivery_count}\n", style="bold")
        for _id, txn, attempt, outcome, _at in snap.deliveries[:rows]:
            label = outcomes.delivery(outcome)
            deliveries.append(f"{label.glyph} {txn} #{attempt} {label.word}\n")
        set_text(self.query_one(".bank-deliveries", Static), deliveries)


SHORT_SCREEN = 30  # rows: below this the big figures give way to the ledger
