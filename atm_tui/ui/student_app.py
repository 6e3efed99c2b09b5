"""The student's ATM app (`atm-tui client --interactive`, and each browser tab of `atm-tui web`).

A small Textual app over http/student.py: an ATM pane (what the customer sees and what the ATM
believes), the student's link faults with their state, and a log of every attempt and answer.
It renders the StudentAtm's notes and tally and sends intents; the bank decides.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, RichLog, Static

from atm_tui.bank.money import rupees
from atm_tui.http.client import DECLINED, DISPENSED, REFUSED, UNKNOWN
from atm_tui.http.student import Note, StudentAtm, StudentConfig

NAME_RULE = "1 to 24 letters, digits, - or _"
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,24}")

# What the ATM pane says for each outcome: the one mapping from the outcome to words.
OUTCOME_WORDS = {
    DISPENSED: "cash dispensed",
    DECLINED: "declined: insufficient funds",
    UNKNOWN: "unknown: no answer yet (press s to ask the bank, r to retry)",
    REFUSED: "refused by the bank (see the log)",
}


def valid_name(text: str) -> str | None:
    """The name if it is one (see NAME_RULE), else None."""
    text = text.strip()
    return text if NAME_PATTERN.fullmatch(text) else None


class NameScreen(ModalScreen[str]):
    """Asks the student's name once (a browser tab starts here); Enter accepts."""

    DEFAULT_CSS = """
    NameScreen { align: center middle; }
    NameScreen > Vertical {
        width: 60; height: auto; border: thick $accent; padding: 1 2; background: $panel;
    }
    NameScreen #name-error { width: 100%; }
    NameScreen #name-error.-bad { color: $error; }
    """

    def __init__(self, suggested: str) -> None:
        super().__init__()
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Your name (the teacher's screen shows it on your lane):")
            yield Input(placeholder=f"{self.suggested} (Enter alone keeps it)", id="name-input")
            yield Label(f"Enter to join ({NAME_RULE}).", id="name-error")

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        name = valid_name(event.value or self.suggested)
        if name is None:
            hint = self.query_one("#name-error", Label)
            hint.update(f"✕ {event.value!r} is not a name: use {NAME_RULE}.")
            hint.add_class("-bad")
            return
        self.dismiss(name)


class StudentApp(App[int]):
    """One student's ATM against the class's bank."""

    TITLE = "atm-tui student ATM"
    CSS = """
    #atm { width: 1fr; border: round $accent; padding: 0 1; }
    #log-pane { width: 2fr; border: round $secondary; }
    #who { text-style: bold; }
    #outcome { text-style: bold; margin-top: 1; }
    #faults { margin-top: 1; color: $warning; }
    """
    BINDINGS = [
        Binding("w", "withdraw", "Withdraw"),
        Binding("b", "balance", "Balance"),
        Binding("s", "status", "Status"),
        Binding("r", "retry", "Retry"),
        Binding("h", "lose_reply", "Lose reply"),
        Binding("H", "lose_request", "Lose request"),
        Binding("u", "twice", "Send twice"),
        Binding("a", "auto_retry", "Auto retry"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, cfg: StudentConfig, *, ask_name: bool = False,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.ask_name = ask_name
        self.transport = transport
        self.atm: StudentAtm | None = None
        self.balance: int | None = None
        self.last_outcome: str | None = None
        self.problem = ""

    # -- layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="atm"):
                yield Static(id="who")
                yield Static(id="outcome")
                yield Static(id="faults")
            with Vertical(id="log-pane"):
                yield RichLog(id="log", wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.ask_name:
            self.push_screen(NameScreen(self.cfg.name), self.joined)
        else:
            self.joined(self.cfg.name)

    def joined(self, name: str | None) -> None:
        self.cfg.name = name or self.cfg.name
        self.atm = StudentAtm(self.cfg, on_note=self.noted, transport=self.transport)
        self.log_line(f"{self.cfg.name} joined {self.cfg.url}:"
                      f" every request carries Client-Id: {self.cfg.name}")
        self.refresh_panes()
        self.action_balance()

    async def on_unmount(self) -> None:
        if self.atm is not None:
            await self.atm.close()

    # -- what the panes show -----------------------------------------------------------------------
    def noted(self, note: Note) -> None:
        self.log_line(note.line())
        self.refresh_panes()

    def log_line(self, text: str) -> None:
        self.query_one("#log", RichLog).write(text)

    def refresh_panes(self) -> None:
        atm = self.atm
        balance = rupees(self.balance) if self.balance is not None else "not asked yet"
        self.query_one("#who", Static).update(
            f"{self.cfg.name} @ {self.cfg.url}\naccount {self.cfg.account}, balance {balance}\n"
            f"amount {rupees(self.cfg.amount)}")
        if atm is None:
            return
        key = atm.last_key or "none yet"
        words = OUTCOME_WORDS.get(self.last_outcome or "", "press w to withdraw")
        if atm.last_key in atm.busy:
            words = "waiting for the bank ..."
        self.query_one("#outcome", Static).update(f"last key {key}\n{words}" + (f"\n{self.problem}"
                                                                                  if self.problem else ""))
        f = atm.faults
        self.query_one("#faults", Static).update(
            "your network:\n"
            f"  h next reply lost: {_armed(f.next_replies_lost)}\n"
            f"  H next request lost: {_armed(f.next_requests_lost)}\n"
            f"  u next request sent twice: {_armed(f.next_duplicated)}\n"
            f"  a automatic retry: {'on' if self.cfg.auto_retry else 'off'}\n"
            f"attempts {atm.tally.attempts}, keys {len(atm.tally.outcomes)}")

    # -- intents -----------------------------------------------------------------------------------
    def _talk(self, job: Callable[[StudentAtm], Awaitable[Any]]) -> None:
        if self.atm is not None:
            self.bank_call(job)

    @work(group="bank")
    async def bank_call(self, job: Callable[[StudentAtm], Awaitable[Any]]) -> None:
        assert self.atm is not None
        try:
            await job(self.atm)
            self.problem = ""
        except httpx.HTTPError as exc:
            self.problem = f"✕ cannot reach the bank at {self.cfg.url}: {exc or type(exc).__name__}"
            self.log_line(self.problem)
        self.refresh_panes()

    def action_withdraw(self) -> None:
        async def job(atm: StudentAtm) -> None:
            self.last_outcome = await atm.withdraw()
            self.balance = await atm.balance()
        self.last_outcome = None
        self._talk(job)

    def action_retry(self) -> None:
        async def job(atm: StudentAtm) -> None:
            outcome = await atm.retry_now()
            if outcome is None:
                self.log_line("nothing to retry (no withdrawal yet, or it is still waiting)")
            else:
                self.last_outcome = outcome
                self.balance = await atm.balance()
        self._talk(job)

    def action_status(self) -> None:
        async def job(atm: StudentAtm) -> None:
            if atm.last_key is None:
                self.log_line("no key to ask about yet: press w first")
                return
            status, debits = await atm.status()
            self.log_line(f"status query {atm.last_key}: {status}, debited {debits} time(s)")
        self._talk(job)

    def action_balance(self) -> None:
        async def job(atm: StudentAtm) -> None:
            self.balance = await atm.balance()
            if self.balance is None:
                self.log_line(f"account {self.cfg.account} is unknown to the bank")
        self._talk(job)

    def action_lose_reply(self) -> None:
        self._arm("next_replies_lost", "the next reply will be lost on its way back")

    def action_lose_request(self) -> None:
        self._arm("next_requests_lost", "the next request will be lost on its way to the bank")

    def action_twice(self) -> None:
        self._arm("next_duplicated", "the next request will be sent twice")

    def _arm(self, name: str, said: str) -> None:
        if self.atm is None:
            return
        setattr(self.atm.faults, name, getattr(self.atm.faults, name) + 1)
        self.log_line(said)
        self.refresh_panes()

    def action_auto_retry(self) -> None:
        self.cfg.auto_retry = not self.cfg.auto_retry
        self.log_line(f"automatic retry {'on' if self.cfg.auto_retry else 'off: press r to retry'}")
        self.refresh_panes()


def _armed(n: int) -> str:
    return f"armed x{n}" if n else "off"


def run_student(cfg: StudentConfig, *, ask_name: bool) -> int:
    """`atm-tui client --interactive`: the app in this terminal (or a browser tab's pty)."""
    return StudentApp(cfg, ask_name=ask_name).run() or 0
