"""The panes' model: turns the engine's event stream into bounded, exact, renderable state.

No Textual here, so it can be tested alone. It decides nothing about outcomes: every line it
keeps restates an event the engine emitted. The parts live beside it by responsibility: the
diagram's rows and labels (`rows`), the ATM's beliefs and receipt (`beliefs`), the storm's
counts (`storm`), the key presses' captions (`captions`), and the handlers of the network's,
the bank's and the ATM's events (`on_wire`, `on_bank`, `on_atm`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from atm_tui.bank.money import rupees
from atm_tui.sim.events import (
    Answered,
    Control,
    Crashed,
    Declined,
    Delivered,
    Dropped,
    Duplicated,
    Event,
    Finished,
    GaveUp,
    Ignored,
    InProgress,
    KeyExpired,
    Processed,
    Recovered,
    Rejected,
    Replayed,
    Replied,
    ReplyDelivered,
    Requested,
    Resolved,
    RetryCancelled,
    Retrying,
    RolledBack,
    Sent,
    TimedOut,
    Twin,
)  # fmt: skip
from atm_tui.sim.report import Tally
from atm_tui.ui.models import on_atm, on_bank, on_wire, outcomes
from atm_tui.ui.models.beliefs import AtmView
from atm_tui.ui.models.captions import control
from atm_tui.ui.models.rows import GAP_MARK_MS, NOTE, Row
from atm_tui.ui.models.storm import Storm


class View:
    """Subscribe it to `engine.world`; read it from the UI. Every list in it is bounded."""

    def __init__(self, *, max_attempts: int, amount: int, owner: str = "Asha", rows: int = 400) -> None:
        self.tally = Tally()
        self.foreign: set[str] = set()  # ids the bank refused as another client's key
        self.rows: deque[Row] = deque(maxlen=rows)
        self.rows_total = 0
        self.max_attempts = max_attempts
        self.owner = owner
        self.atm = AtmView()
        self.caption = ""
        self.events = 0
        self.storm = Storm()
        self.requests: dict[tuple[str, int, int], Row] = {}
        self.replies: dict[tuple[str, int], deque[Row]] = {}
        self.promises: dict[tuple[str, int], Row] = {}  # "↻ resend as #N" rows not yet kept
        self.ops: dict[str, str] = {}  # id -> its operation, for each story's own words
        self.bank_changed = False
        self.show_twin = False
        self.last_body: dict[str, str] = {}
        self.delivery_counts: dict[str, int] = {}
        self.debits = 0  # debits of the current transaction, as the bank reported them
        self.gap_crash = False  # the current transaction's debit outlived a crash before its key
        self.unknown: set[str] = set()  # ids whose outcome the ATM does not know (yet)
        self.resolved = 0  # unknown outcomes a status query settled
        self.resends = 0  # withdrawal attempts after the first that went on the wire
        # Every write's attempts and deliveries (a payment, order or vote too; the tally counts
        # withdrawals only): the counters line says what the deliveries table holds.
        self.writes = {"attempts": 0, "deliveries": 0, "rolled_back": 0}
        self.bank_mode = "idempotent"  # set by the app from the engine, then by `mode` events
        self.ttl: int | None = None  # the key retention (ms), as the engine was opened or set_ttl
        self.http = False  # draw writes as the HTTP bank sees them (the `stripe` scenario)
        self.account = "A-1001"
        # One-shot hiccups armed and not yet used, counted from the events (the toggles' numbers).
        self.armed = {"drop_next_replies": 0, "drop_next_requests": 0, "duplicate_next_requests": 0}
        self.last_t: int | None = None
        self.welcome(amount)

    # -- called by the UI ---------------------------------------------------------------------
    def welcome(self, amount: int) -> None:
        if not self.atm.txn_id:
            self.atm.screen = f"Welcome, {self.owner}."
            self.atm.detail = f"Press ‹withdraw› to withdraw {rupees(amount)}."
        self.atm.amount = amount

    def start_storm(self, n: int, amount: int) -> None:
        self.caption = self.storm.begin(n, amount, self.tally.counts)

    def add_storm_id(self, txn_id: str) -> None:
        self.storm.add(txn_id)

    def storm_sent(self) -> None:
        """Every withdrawal of the storm is on its way; the ones after it are the customer's."""
        self.storm.opening = False

    @property
    def counts(self) -> dict[str, int]:
        """The counters line's numbers: the tally's, with attempts and deliveries of every write."""
        return {**self.tally.counts, **self.writes}

    @property
    def storm_total(self) -> int:
        return self.storm.total

    @property
    def storm_done(self) -> int:
        return self.storm.done

    @property
    def storm_running(self) -> bool:
        return self.storm.running

    # -- the subscriber -------------------------------------------------------------------------
    def __call__(self, ev: Event) -> None:
        self.events += 1
        self.tally(ev)
        handler = HANDLERS.get(type(ev))
        if handler is None:
            return
        if ev.txn_id not in self.storm.every:
            handler(self, ev)
            return
        # A storm withdrawal's event leaves the caption as it was (the storm's, or a key's), and
        # the last one to finish puts up the storm's summary.
        before, running = self.caption, self.storm_running
        handler(self, ev)
        self.caption = self.storm.caption if running and not self.storm_running else before

    # -- what the handlers share ----------------------------------------------------------------
    def add_row(self, row: Row) -> Row:
        last = self.last_t
        if last is not None and row.t - last >= GAP_MARK_MS:
            # Virtual time jumped (a wait, or nobody pressed a key): say so, never a silent jump.
            self.rows.append(Row(row.t, "atm", f"⋯ {(row.t - last) / 1000:.1f} s later", NOTE))
            self.rows_total += 1
        self.last_t = row.t
        self.rows.append(row)
        self.rows_total += 1
        return row

    def note(self, t: int, text: str) -> None:
        """A bank-side note from outside the engine (an HTTP request under --serve)."""
        self.add_row(Row(t, "bank", text, NOTE))

    def words_of(self, txn_id: str) -> outcomes.Story:
        return outcomes.story(self.ops.get(txn_id, "withdraw"))

    def is_current(self, txn_id: str) -> bool:
        return txn_id == self.atm.txn_id

    def retry_screen(self, attempt: int) -> str:
        if self.atm.last_status == "in_progress":
            return f"Bank busy with it: asking again, {attempt} of {self.max_attempts}."
        return f"No answer yet, retrying {attempt} of {self.max_attempts}."

    def retry_detail(self, txn_id: str) -> str:
        if self.bank_mode == "naive":
            return f"Same id {txn_id}, same amount; this bank never looks at the id."
        return f"Same id {txn_id}, same amount: the bank can recognise it."

    def forget_old(self) -> None:
        # The index only needs messages still in flight; cap it so a storm cannot grow it.
        if len(self.requests) > 2_000:
            for key in list(self.requests)[:1_000]:
                del self.requests[key]
        if len(self.replies) > 2_000:
            for rkey in list(self.replies)[:1_000]:
                del self.replies[rkey]

    def deliveries(self, txn_id: str) -> int:
        return self.delivery_counts.get(txn_id, 0)

    def store_failed(self, t: int, message: str, what: str = "db locked") -> None:
        """The app's note that the bank's file refused a transaction: the delivery is lost."""
        self.add_row(Row(t, "bank", f"✕ {what}: delivery lost", NOTE))
        self.caption = f"✕ {message}"


# Each event kind to its handler, in the module of where it happens.
HANDLERS: dict[type[Event], Callable[[View, Any], None]] = {
    Sent: on_wire.sent,
    Dropped: on_wire.dropped,
    Duplicated: on_wire.duplicated,
    Delivered: on_wire.track_delivery,
    Processed: on_bank.processed,
    Replayed: on_bank.replayed,
    Declined: on_bank.declined,
    InProgress: on_bank.in_progress,
    Rejected: on_bank.rejected,
    Twin: on_bank.twin,
    KeyExpired: on_bank.key_expired,
    Ignored: on_atm.ignored,
    Replied: on_wire.replied,
    ReplyDelivered: on_wire.track_body,
    Requested: on_atm.requested,
    TimedOut: on_atm.timed_out,
    Retrying: on_atm.retrying,
    RetryCancelled: on_atm.retry_cancelled,
    GaveUp: on_atm.gave_up,
    Finished: on_atm.finished,
    Answered: on_atm.answered,
    Resolved: on_atm.resolved,
    Crashed: on_bank.crashed,
    Recovered: on_bank.recovered,
    RolledBack: on_bank.rolled_back,
    Control: control,
}
