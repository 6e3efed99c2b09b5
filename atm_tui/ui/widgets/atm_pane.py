"""The ATM's pane: its screen, the amount, the cash out and the receipt."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from atm_tui.bank.money import rupees
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.captions import name_keys
from atm_tui.ui.models.view import View
from atm_tui.ui.widgets.palette import styles
from atm_tui.ui.widgets.text import set_text


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
        self._title_beliefs()

    def _title_beliefs(self) -> None:
        # The longest title that fits the frame: a cut title ("what the ATM be…") reads as a bug.
        beliefs = self.query_one("#atm-beliefs")
        room = beliefs.outer_size.width - 4
        client = str(self.border_title or "ATM")
        who = "the ATM" if client == "ATM" else f"the {client.lower()}"
        for title in (f"what {who} believes", f"{client} believes", "believes"):
            if len(title) <= room:
                break
        if beliefs.border_title != title:
            beliefs.border_title = title

    def show(self, view: View, amount: int, keys_on: frozenset[str], keys: Mapping[str, str]) -> None:
        """`keys_on`: the actions whose keys work now; a line naming a key is shown only then.
        `keys`: action -> key, for the words that name one (‹retry›: the screen's own binding)."""
        atm = view.atm
        title = outcomes.story(atm.op).title  # each story's own client: ATM, Shop, Booth
        if self.border_title != title:
            self.border_title = title
            self._title_beliefs()
        screen = Text()
        screen.append(atm.screen + "\n", style="bold")
        screen.append(name_keys(atm.detail, keys))
        if atm.hint and all(a in keys_on for a in atm.hint_actions):
            screen.append("\n" + name_keys(atm.hint, keys))
        if not atm.txn_id:
            # Name the key only while it works (a scenario refuses it).
            change = name_keys(" (‹amount› to change)", keys) if "amount" in keys_on else ""
            screen.append(f"\nAmount: {rupees(amount)}{change}")
        if view.storm_total:
            screen.append(f"\nStorm: {view.storm_done} of {view.storm_total} finished")
        set_text(self.query_one("#atm-screen", Static), screen)
        # One line for when the pane is squeezed to a strip (compare mode at 80 columns).
        status = Text(no_wrap=True, overflow="ellipsis")
        status.append(f"{title} ", style="bold reverse")
        status.append(" " + atm.screen, style="bold")
        set_text(self.query_one("#atm-status", Static), status)
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
                receipt.append("\nbank says: " + name_keys(r.bank_says, keys), style="bold")
        set_text(self.query_one("#atm-receipt", Static), receipt)
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
        set_text(self.query_one("#atm-beliefs", Static), beliefs)
