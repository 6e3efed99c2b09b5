"""The ATM screen: the ATM, the sequence diagram with its fault toggles, the bank (and compare mode)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Static

from atm_tui.bank.money import rupees
from atm_tui.ui.core.session import Session
from atm_tui.ui.core.shown import Shown
from atm_tui.ui.models.captions import name_keys
from atm_tui.ui.screens.bindings import (
    CLASS_VIEW,
    FASTER,
    HELP,
    PAUSE,
    PIPELINE,
    PRESENTER_KEYS,
    QUIT,
    SHOT,
    SLOWER,
    THEME,
    key,
)
from atm_tui.ui.screens.panes import PanesScreen
from atm_tui.ui.widgets.atm_pane import AtmPane
from atm_tui.ui.widgets.diagram import SequenceDiagram
from atm_tui.ui.widgets.toggles import TogglePanel, Toggles

MODES = ("idempotent", "naive", "split")

# The ATM's own keys (the pipeline screen lists some of them, off, so a teacher sees where they went).
WITHDRAW = key("w", "withdraw", "withdraw", "Withdraw the current amount (Rs 5,000 unless m changed it)",
               "Withdraw")  # fmt: skip
AMOUNT = key("m", "amount", "amount", "Choose the amount: presets, or type one (multiples of Rs 100)",
             "Choose the amount")  # fmt: skip
BALANCE = key("b", "balance", "balance", "Balance inquiry: a read, safe to repeat, needs no key",
              "Balance inquiry")  # fmt: skip
STATUS = key("s", "status", "status", "Ask the bank what became of the picked transaction (last unless o)",
             "Status of the picked transaction")  # fmt: skip
RETRY = key("r", "retry", "retry", "Resend the picked transaction now (the last unless o), same id and body",
            "Retry now, same id")  # fmt: skip
PICK = key("o", "pick", "pick id", "Choose what s and r act on: the last transaction, or an unknown one",
           "Pick the transaction s and r act on")  # fmt: skip
DROP_REPLY = key("h", "drop_reply", "drop reply", "Hiccup: the network loses the next reply",
                 "Hiccup: drop the next reply")  # fmt: skip
DROP_REQUEST = key("H", "drop_request", "drop req", "The network loses the next request",
                   "Hiccup: drop the next request")  # fmt: skip
DUPLICATE = key("u", "duplicate", "dup", "The network delivers the next request twice",
                "Hiccup: duplicate the next request")  # fmt: skip
DROP_ALL = key("d", "drop_all", "drop all", "Drop every reply until pressed again",
               "Drop every reply, on or off")  # fmt: skip
AUTO_RETRY = key("a", "auto_retry", "auto-retry", "Turn the ATM's automatic retries on or off",
                 "Automatic retry, on or off")  # fmt: skip
IDEMPOTENCY = key("i", "idempotency", "idempotency", "Idempotent bank, or naive (debits every delivery)",
                  "Idempotency, on or off")  # fmt: skip
COMPARE = key("c", "compare", "compare", "Show a naive twin bank fed the very same deliveries",
              "Compare mode: naive twin, on or off")  # fmt: skip
CRASH_GAP = key("x", "crash_gap", "crash gap", "Crash the bank between debit and key (split mode)",
                "Crash the bank between debit and key")  # fmt: skip
STORM = key("S", "storm", "storm", "Storm: 100 withdrawals of Rs 100 at once with 30% network faults",
            "Storm")  # fmt: skip
RESET = key("ctrl+r", "reset", "reset", "Reset the bank to its opening balance (asks first)",
            "Reset the bank")  # fmt: skip


class AtmScreen(PanesScreen):
    """The live ATM and its bank: every key of the lesson's story."""

    BINDINGS: ClassVar[list[BindingType]] = [
        WITHDRAW, AMOUNT, BALANCE, STATUS, RETRY, PICK, DROP_REPLY, DROP_REQUEST, DUPLICATE, DROP_ALL,
        AUTO_RETRY, IDEMPOTENCY, COMPARE, CRASH_GAP, PIPELINE, CLASS_VIEW, PAUSE, FASTER, SLOWER, STORM,
        RESET, THEME,
        HELP, SHOT, QUIT,
    ]  # fmt: skip
    EXTRA_ACTIONS: ClassVar[tuple[str, ...]] = ("mode",)  # the palette's mode('split') and so on

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._compare_shown: tuple[bool, ...] = ()

    def atm_column(self) -> ComposeResult:
        yield AtmPane(id="atm")

    def network_body(self) -> ComposeResult:
        yield TogglePanel(self.key_names(), id="toggles")
        yield SequenceDiagram(self.session.view, id="diagram")
        yield Static(id="counters")

    # -- drawing ---------------------------------------------------------------------------------
    def _draw_top(self, shown: Shown) -> None:
        super()._draw_top(shown)
        # Every tick, as a resize may cross a breakpoint: the compare layout is set per breakpoint.
        self._show_compare(shown.compare)

    def caption_text(self, shown: Shown) -> str:
        return shown.view.caption or (
            "Press ‹withdraw› to withdraw. ‹drop_reply› drops the next reply. ‹help› lists every key."
        )

    def draw_panes(self, shown: Shown) -> None:
        view = shown.view
        diagram = self.query_one(SequenceDiagram)
        diagram.view = view
        diagram.t0 = shown.t0
        # The keys a line of the ATM's screen names, said only while they work (a scenario refuses them).
        named = ("amount", *view.atm.hint_actions)
        keys_on = frozenset(a for a in named if self.check_action(a, ()) is True)
        self.query_one(AtmPane).show(view, shown.amount, keys_on, self.key_names())
        st = shown.toggles
        if st is not None:
            # A new state redraws the panel (and lays the screen out again if its rows changed).
            self.query_one(TogglePanel).state = Toggles(
                st.drop_next_replies, st.drop_next_requests, st.duplicate_next, st.drop_all_replies,
                st.auto_retry, st.mode, st.compare,
                st.request_drop_rate, st.reply_drop_rate, st.duplicate_rate,
                st.crash_in_gap,
            )
        diagram.refresh()
        c = view.counts  # every write's attempts and deliveries, not only withdrawals'
        counters = Text(overflow="fold")
        counters.append(
            f"attempts {c['attempts']} · arrived {c['deliveries']}"
            + (f" ({c['rolled_back']} more rolled back)" if c["rolled_back"] else "")
            + f" · replays {c['replayed']}"
            f" · lost {c['requests_dropped'] + c['replies_dropped']} · dup {c['duplicated']}"
            + (f" · cash {c['dispensed']}" if view.atm.op == "withdraw" else "")  # a shop hands out no cash
            + f" · unknown {len(view.unknown)}"
        )
        if view.resolved:
            counters.append(f" · resolved {view.resolved}")
        if shown.target is not None:
            counters.append(f" · s/r → {shown.target}", style="bold")
        if shown.store_failures:
            counters.append(f" · db refused {shown.store_failures}", style="bold")
        self.update("#counters", counters)

    def _show_compare(self, on: bool) -> None:
        """Compare mode is a layout of this screen: the naive twin beside the bank.

        Wide and medium: the twin's display and two widths, set directly; a class on #panes would
        re-match the CSS of every widget in every pane, the slowest part of `c`. Narrow: the grid
        changes shape, so the class does it."""
        narrow = self.has_class("-narrow")
        medium = self.has_class("-medium")
        state = (on, narrow, medium)
        if state == self._compare_shown:
            return
        self._compare_shown = state
        self.query_one("#panes").set_class(on and narrow, "-compare")
        self.query_one("#twin").styles.display = "block" if on else "none"
        for deliveries in self.query(".bank-deliveries"):
            deliveries.styles.display = "none" if on else None
        banks, atm = self.query_one("#banks"), self.query_one(AtmPane)
        if on and not narrow:
            banks.styles.width = 44 if medium else 50
            atm.styles.width = 20 if medium else 24
        else:
            banks.styles.width = None
            atm.styles.width = None

    # -- keys ------------------------------------------------------------------------------------
    def live_state(self, action: str) -> bool | None:
        return None if self.why_off(action) else True

    def why_off(self, action: str) -> str:
        s = self.session
        engine = s.engine
        if engine is None:
            return "the bank's file could not be opened"
        if action == "pipeline" and s.live_pipeline.opening:
            return "the pipeline is still opening"
        if action == "crash_gap" and engine.bank.mode != "split":
            return ("it crashes the bank between the debit and storing the key, which only split mode has"
                    " (ctrl+p, Bank mode: split). In one transaction there is no gap.")  # fmt: skip
        if action in ("status", "retry") and engine.atm.last is None:
            return name_keys("it acts on the last transaction, and there is none yet: press ‹withdraw› first",
                             self.key_names())
        if action == "pick" and not engine.unknown and s.target is None:
            return "it picks among transactions whose outcome is unknown, and none is"
        return ""

    # -- the ATM's actions (each is one engine call; the engine records it as a Control event) ------
    def action_withdraw(self) -> None:
        if self.session.engine is not None:
            self.session.engine.withdraw(self.session.amount)

    def action_amount(self) -> None:
        from atm_tui.ui.screens.modals import AmountScreen

        def chosen(value: int | None) -> None:
            if value is not None:
                self.session.set_amount(value)
                self.notify(f"amount: {rupees(value)}", timeout=3)
                self.session.say(f"Amount set to {rupees(value)}: the next w withdraws it under a new id.")

        self.app.push_screen(AmountScreen(self.session.amount), chosen)

    def action_balance(self) -> None:
        if self.session.engine is not None:
            self.session.engine.balance_inquiry()

    def action_status(self) -> None:
        if self.session.engine is not None:
            self.session.engine.status_query(self.session.target)

    def action_retry(self) -> None:
        engine = self.session.engine
        target = self.session.target
        if engine is not None and not engine.retry_now(target):
            last = engine.atm.last
            if target is not None:
                self.notify(f"{target} is settled; nothing to retry (o picks another)", timeout=4)
            elif last is not None:
                self.notify(f"{last.txn_id} is finished ({last.outcome}); nothing to retry", timeout=4)

    def action_pick(self) -> None:
        session, engine = self.session, self.session.engine
        if engine is None:
            return
        target = session.pick_target()
        unknown = engine.unknown
        listed = ", ".join(unknown[:6]) + (f" and {len(unknown) - 6} more" if len(unknown) > 6 else "")
        if target is None:
            last = engine.atm.last_txn_id or "none yet"
            more = f" Unknown: {listed}; o picks one." if unknown else " No outcome is unknown."
            session.say(f"s and r act on the last transaction ({last}).{more}")
        else:
            session.say(f"s and r now act on {target}, whose outcome the ATM does not know."
                        f" Unknown: {listed}; o picks the next.")

    def action_drop_reply(self) -> None:
        if self.session.engine is not None:
            self.session.engine.drop_next_replies(1)

    def action_drop_request(self) -> None:
        if self.session.engine is not None:
            self.session.engine.drop_next_requests(1)

    def action_duplicate(self) -> None:
        if self.session.engine is not None:
            self.session.engine.duplicate_next_requests(1)

    def action_drop_all(self) -> None:
        engine = self.session.engine
        if engine is not None:
            engine.set_drop_all_replies(not engine.state().drop_all_replies)

    def action_auto_retry(self) -> None:
        engine = self.session.engine
        if engine is not None:
            engine.set_auto_retry(not engine.state().auto_retry)

    def action_idempotency(self) -> None:
        engine = self.session.engine
        if engine is not None:
            engine.set_mode("naive" if engine.bank.mode == "idempotent" else "idempotent")
            self.session.reader.request()

    def action_mode(self, mode: str) -> None:
        engine = self.session.engine
        if engine is not None and mode in MODES:
            engine.set_mode(mode)  # type: ignore[arg-type]
            self.session.reader.request()

    def action_crash_gap(self) -> None:
        # Split mode commits the debit, then stores the key in a second transaction: die in between.
        engine = self.session.engine
        if engine is not None and engine.bank.mode == "split":
            engine.crash_in_gap(1)

    def action_compare(self) -> None:
        if self.session.compare():
            self.app.run_worker(self.session.open_twin(), group="twin", exclusive=True, exit_on_error=False)

    def action_storm(self) -> None:
        if self.session.engine is not None and not self.session.storm():
            self.notify("a storm is already running", timeout=3)

    def action_reset(self) -> None:
        from atm_tui.ui.screens.modals import ConfirmScreen

        engine = self.session.engine
        if engine is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.run_worker(self.session.reset(), group="reset", exclusive=True, exit_on_error=False)

        self.app.push_screen(
            ConfirmScreen(
                f"Reset the bank to {rupees(engine.bank.config.opening_balance)}?\n"
                f"Every ledger row, key and delivery in {self.session.db_label} is deleted."
            ),
            answered,
        )


class AtmScenarioScreen(AtmScreen, inherit_bindings=False):
    """An ATM scenario: the same panes under the caption bar; only the presenter's keys are live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *Screen.BINDINGS, *PRESENTER_KEYS, FASTER, SLOWER, THEME, HELP, SHOT, QUIT,
    ]  # fmt: skip
    LIVE_KEYS: ClassVar[list[BindingType]] = AtmScreen.BINDINGS  # refused here, each saying why
    SCENARIO = True
