"""The panes' model: turns the engine's event stream into bounded, exact, renderable state.

No Textual here, so it can be tested alone. It decides nothing about outcomes: every line it
keeps restates an event the engine emitted.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank.idempotency import FOREIGN
from atm_tui.bank.money import rupees
from atm_tui.http import desk
from atm_tui.sim.events import (
    REPLY,
    REQUEST,
    START_CONTROL,
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
)
from atm_tui.sim.report import Tally
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.outcomes import Label

# Row states. A message row is drawn as soon as it is sent and updated when its fate is known.
FLYING = "flying"
ARRIVED = "arrived"
LOST = "lost"
NOTE = "note"


@dataclass(slots=True)
class Row:
    """One line of the sequence diagram: a message between the lanes, or a note beside a lane."""

    t: int
    direction: str  # request | reply | atm (a note on the ATM lane) | bank (a note on the bank lane)
    label: str
    state: str = FLYING
    note: str = ""  # fresh / replayed / in progress / copy 2 / the note text
    duplicate: bool = False
    cause: str = ""
    # A reply's label from the one mapping (outcomes.reply); a note's when it states an outcome.
    mark: Label | None = None
    # Rows that carry the story (a debit, a loss, a crash) stay on a short screen; the rest may go.
    key: bool = False
    txn: str = ""  # the id a key row is about, so the diagram keeps the current story's rows


@dataclass(slots=True)
class Attempt:
    """What the ATM believes about one send of the last transaction."""

    number: int
    state: str = "sent, waiting…"


@dataclass(slots=True)
class Receipt:
    txn_id: str
    amount: int
    outcome: str
    balance_after: int | None
    replayed: bool
    attempts: int
    bank_says: str = ""  # after an unknown outcome: the bank's answer to a status query
    status: str = ""  # the status of the reply the ATM acted on (approved | declined | rejected ...)
    op: str = "withdraw"


@dataclass(slots=True)
class AtmView:
    """The customer's screen and the ATM's beliefs about the transaction it is handling."""

    screen: str = ""
    detail: str = ""
    txn_id: str = ""
    amount: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    receipt: Receipt | None = None
    last_reply_replayed: bool = False
    last_status: str = ""  # the status of the last reply that reached the ATM for this id
    op: str = "withdraw"
    # A line naming keys: shown only while those actions are on (a scenario refuses them).
    hint: str = ""
    hint_actions: tuple[str, ...] = ()


class View:
    """Subscribe it to `engine.world`; read it from the UI. Every list in it is bounded."""

    def __init__(self, *, max_attempts: int, amount: int, owner: str = "Asha", rows: int = 400) -> None:
        self.tally = Tally()
        self._foreign: set[str] = set()  # ids the bank refused as another client's key
        self.rows: deque[Row] = deque(maxlen=rows)
        self.rows_total = 0
        self.max_attempts = max_attempts
        self.owner = owner
        self.atm = AtmView()
        self.caption = ""
        self.events = 0
        self.storm_total = 0
        self.storm_done = 0
        self._storm_ids: set[str] = set()
        self._storm_start: dict[str, int] = {}  # the counts when the storm began
        # Every storm id ever: their events keep the storm's own caption instead of 100 of theirs.
        self._storm_every: set[str] = set()
        self._storm_caption = ""
        self._storm_opening = False  # between start_storm and storm_sent: each withdrawal is the storm's
        self._requests: dict[tuple[str, int, int], Row] = {}
        self._replies: dict[tuple[str, int], deque[Row]] = {}
        self._promises: dict[tuple[str, int], Row] = {}  # "↻ resend as #N" rows not yet kept
        self._ops: dict[str, str] = {}  # id -> its operation, for each story's own words
        self.bank_changed = False
        self.show_twin = False
        self._last_body: dict[str, str] = {}
        self._delivery_counts: dict[str, int] = {}
        self._debits = 0  # debits of the current transaction, as the bank reported them
        self._gap_crash = False  # the current transaction's debit outlived a crash before its key
        self.unknown: set[str] = set()  # ids whose outcome the ATM does not know (yet)
        self.resolved = 0  # unknown outcomes a status query settled
        self.resends = 0  # withdrawal attempts after the first that went on the wire
        # Every write's attempts and deliveries (a payment, order or vote too; the tally counts
        # withdrawals only): the counters line says what the deliveries table holds.
        self._writes = {"attempts": 0, "deliveries": 0, "rolled_back": 0}
        self.bank_mode = "idempotent"  # set by the app from the engine, then by `mode` events
        self.ttl: int | None = None  # the key retention (ms), as the engine was opened or set_ttl
        self.http = False  # draw writes as the HTTP bank sees them (the `stripe` scenario)
        self.account = "A-1001"
        # One-shot hiccups armed and not yet used, counted from the events (the toggles' numbers).
        self.armed = {"drop_next_replies": 0, "drop_next_requests": 0, "duplicate_next_requests": 0}
        self._last_t: int | None = None
        self.welcome(amount)

    # -- called by the UI ---------------------------------------------------------------------
    def welcome(self, amount: int) -> None:
        if not self.atm.txn_id:
            self.atm.screen = f"Welcome, {self.owner}."
            self.atm.detail = f"Press w to withdraw {rupees(amount)}."
        self.atm.amount = amount

    def start_storm(self, n: int, amount: int) -> None:
        self.storm_total += n
        self._storm_start = dict(self.tally.counts)
        self.caption = self._storm_caption = (
            f"Storm: {n} withdrawals of {rupees(amount)} at once, with 30 % faults on the network:"
            " watch the retries and the replays."
        )

        self._storm_opening = True

    def add_storm_id(self, txn_id: str) -> None:
        self._storm_ids.add(txn_id)
        self._storm_every.add(txn_id)

    def storm_sent(self) -> None:
        """Every withdrawal of the storm is on its way; the ones after it are the customer's."""
        self._storm_opening = False

    @property
    def counts(self) -> dict[str, int]:
        """The counters line's numbers: the tally's, with attempts and deliveries of every write."""
        return {**self.tally.counts, **self._writes}

    @property
    def storm_running(self) -> bool:
        return self.storm_done < self.storm_total

    # -- the subscriber -------------------------------------------------------------------------
    def __call__(self, ev: Event) -> None:
        self.events += 1
        self.tally(ev)
        handler = _HANDLERS.get(type(ev))
        if handler is None:
            return
        if ev.txn_id not in self._storm_every:
            handler(self, ev)
            return
        # A storm withdrawal's event leaves the caption as it was (the storm's, or a key's), and
        # the last one to finish puts up the storm's summary.
        before, running = self.caption, self.storm_running
        handler(self, ev)
        self.caption = self._storm_caption if running and not self.storm_running else before

    def _row(self, row: Row) -> Row:
        last = self._last_t
        if last is not None and row.t - last >= GAP_MARK_MS:
            # Virtual time jumped (a wait, or nobody pressed a key): say so, never a silent jump.
            self.rows.append(Row(row.t, "atm", f"⋯ {(row.t - last) / 1000:.1f} s later", NOTE))
            self.rows_total += 1
        self._last_t = row.t
        self.rows.append(row)
        self.rows_total += 1
        return row

    def note(self, t: int, text: str) -> None:
        """A bank-side note from outside the engine (an HTTP request under --serve)."""
        self._row(Row(t, "bank", text, NOTE))

    def _words(self, txn_id: str) -> outcomes.Story:
        return outcomes.story(self._ops.get(txn_id, "withdraw"))

    def _is_current(self, txn_id: str) -> bool:
        return txn_id == self.atm.txn_id

    # requests on the wire
    def _sent(self, ev: Sent) -> None:
        if self.http and ev.op not in outcomes.READS:
            again = "same " if ev.attempt > 1 else ""
            self._row(Row(ev.t, "atm", f"{desk.request_line(ev.op, self.account)}", NOTE))
            self._row(Row(ev.t, "atm", f"  {again}Idempotency-Key: {ev.txn_id}", NOTE))
        row = self._row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
        self._forget_old()
        self._requests[(_wire(ev.txn_id, ev.op), ev.attempt, 1)] = row
        if ev.op not in outcomes.READS:
            self._writes["attempts"] += 1
        if ev.op not in outcomes.READS and ev.attempt > 1:
            self.resends += 1
        if ev.op not in outcomes.READS and self._is_current(ev.txn_id):
            self.atm.attempts.append(Attempt(ev.attempt))
            if ev.attempt > 1:
                self.atm.screen = self._retry_screen(ev.attempt)
                self.atm.detail = self._retry_detail(ev.txn_id)
                self.atm.hint, self.atm.hint_actions = "", ()
                client = self._words(ev.txn_id).client
                self.caption = f"{ev.txn_id} #{ev.attempt}: {client} sends the same id and body again."
            else:
                self.atm.screen = "Processing..."
                what = rupees(ev.amount) if ev.op == "withdraw" else f"the {ev.op}"
                self.atm.detail = f"Asking the bank for {what} ({ev.txn_id})."

    def _retry_screen(self, attempt: int) -> str:
        if self.atm.last_status == "in_progress":
            return f"Bank busy with it: asking again, {attempt} of {self.max_attempts}."
        return f"No answer yet, retrying {attempt} of {self.max_attempts}."

    def _retry_detail(self, txn_id: str) -> str:
        if self.bank_mode == "naive":
            return f"Same id {txn_id}, same amount; this bank never looks at the id."
        return f"Same id {txn_id}, same amount: the bank can recognise it."

    def _forget_old(self) -> None:
        # The index only needs messages still in flight; cap it so a storm cannot grow it.
        if len(self._requests) > 2_000:
            for key in list(self._requests)[:1_000]:
                del self._requests[key]
        if len(self._replies) > 2_000:
            for rkey in list(self._replies)[:1_000]:
                del self._replies[rkey]

    def _dropped(self, ev: Dropped) -> None:
        if ev.cause == "forced":
            name = "drop_next_requests" if ev.direction == REQUEST else "drop_next_replies"
            self.armed[name] = max(0, self.armed[name] - 1)
        name = message_name(ev.txn_id, ev.attempt, ev.op)
        wire = _wire(ev.txn_id, ev.op)
        if ev.direction == REQUEST:
            row = self._requests.get((wire, ev.attempt, 1))
            if row is None or row.state != FLYING or ev.cause == "bank-down":
                row = self._row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
            row.state, row.cause, row.note, row.key, row.txn = LOST, ev.cause, "lost", True, ev.txn_id
            self.caption = f"{name}: the request was lost ({_cause(ev.cause)})."
        else:
            queue = self._replies.get((wire, ev.attempt))
            label = reply_label(ev.txn_id, ev.attempt, ev.op)
            row = queue[-1] if queue else self._row(Row(ev.t, REPLY, label))
            if queue:
                queue.pop()
            row.state, row.cause, row.key, row.txn = LOST, ev.cause, True, ev.txn_id
            row.note = "lost"
            if ev.op in outcomes.READS:
                self.caption = (
                    f"{name}: the bank answered but the reply was lost ({_cause(ev.cause)})."
                    " The ATM will time out; a read is safe to ask again."
                )
            else:
                words = self._words(ev.txn_id).client
                client = words[:1].upper() + words[1:]
                self.caption = (
                    f"{name}: the bank answered but the reply was lost ({_cause(ev.cause)})."
                    f" {client} cannot tell this from a lost request."
                )

    def _duplicated(self, ev: Duplicated) -> None:
        if ev.cause == "forced":
            self.armed["duplicate_next_requests"] = max(0, self.armed["duplicate_next_requests"] - 1)
        wire = _wire(ev.txn_id, ev.op)
        first = self._requests.get((wire, ev.attempt, 1))
        if first is not None:
            first.duplicate = True
        label = first.label if first is not None else request_label(ev.txn_id, ev.attempt, ev.op)
        copy = self._row(Row(ev.t, REQUEST, label, duplicate=True, note="copy 2"))
        self._requests[(wire, ev.attempt, 2)] = copy
        name = message_name(ev.txn_id, ev.attempt, ev.op)
        self.caption = f"{name}: the network will deliver this request twice."

    def _delivered(self, ev: Delivered) -> None:
        row = self._requests.pop((_wire(ev.txn_id, ev.op), ev.attempt, ev.copy), None)
        if row is None:
            row = self._row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
        row.state = ARRIVED
        row.note = "copy 2" if ev.copy > 1 else "arrived"

    # the bank
    def _processed(self, ev: Processed) -> None:
        self.bank_changed = True
        if self._is_current(ev.txn_id):
            self._debits += 1
        words = self._words(ev.txn_id)
        if ev.amount:
            self._row(Row(ev.t, "bank", f"$ {words.effect} {rupees(ev.amount)}", NOTE,
                          mark=outcomes.PROCESSED, key=True, txn=ev.txn_id))
            self.caption = (
                f"{ev.txn_id} #{ev.attempt}: the bank {words.does} {rupees(ev.amount)}"
                " and sends its reply."
            )
        else:
            # An order or a vote: the bank writes its row, no money moves.
            self._row(Row(ev.t, "bank", f"$ {ev.txn_id} processed", NOTE,
                          mark=outcomes.PROCESSED, key=True, txn=ev.txn_id))
            self.caption = f"{ev.txn_id} #{ev.attempt}: the bank {words.does} and sends its reply."

    def _replayed(self, ev: Replayed) -> None:
        self.bank_changed = True
        words = self._words(ev.txn_id)
        self._row(Row(ev.t, "bank", f"↺ replay, {words.no_effect}", NOTE, mark=outcomes.REPLAYED))
        replays = ev.hits - 1
        self.caption = (
            f"{ev.txn_id} #{ev.attempt}: the bank has seen {ev.txn_id} before"
            f" (replay {replays} after the first processing)."
            f" It sends the stored reply again and {words.nothing}."
        )

    def _declined(self, ev: Declined) -> None:
        self.bank_changed = True
        self._row(Row(ev.t, "bank", f"✗ declined: balance {rupees(ev.balance)}", NOTE,
                      mark=outcomes.DECLINED))
        self.caption = (
            f"{ev.txn_id}: declined, balance {rupees(ev.balance)} < {rupees(ev.amount)}; nothing was"
            " debited. The decline is stored and replayed like any answer."
        )

    def _in_progress(self, ev: InProgress) -> None:
        self.bank_changed = True
        self._row(Row(ev.t, "bank", f"⧖ {ev.txn_id} still in progress", NOTE, mark=outcomes.IN_PROGRESS))
        self.caption = (
            f"{ev.txn_id} #{ev.attempt}: the bank is still processing an earlier attempt of {ev.txn_id}:"
            " it answers \"in progress, retry later\" (409) and stores nothing."
        )

    def _rejected(self, ev: Rejected) -> None:
        self.bank_changed = True
        if ev.reason == FOREIGN:
            self._foreign.add(ev.txn_id)
            self._row(Row(ev.t, "bank", f"✗ {ev.txn_id}: another client's key", NOTE,
                          mark=outcomes.REJECTED, key=True, txn=ev.txn_id))
            self.caption = (
                f"{ev.txn_id} #{ev.attempt}: this key belongs to another client (another ATM): the bank"
                " refuses it (422). Replaying that client's answer would pay cash with no debit."
            )
            return
        self._row(Row(ev.t, "bank", f"✗ {ev.txn_id}: same id, other body", NOTE,
                      mark=outcomes.REJECTED, key=True, txn=ev.txn_id))
        self.caption = (
            f"{ev.txn_id} #{ev.attempt}: same id, different request: the bank rejects it (422)"
            " and changes nothing."
        )

    def _key_expired(self, ev: KeyExpired) -> None:
        ttl = ev.ttl or self.ttl  # the trace's own figure; an old trace's falls back to the setting
        kept = f" (kept {ttl / 1000:g} s)" if ttl is not None else ""
        self._row(Row(ev.t, "bank", f"⧗ {ev.txn_id} key expired{kept}", NOTE,
                      mark=outcomes.EXPIRED, key=True, txn=ev.txn_id))
        self.caption = (
            f"{ev.txn_id} #{ev.attempt}: the key's retention window{kept} had passed: the bank has"
            f" forgotten {ev.txn_id} and treats this delivery as new."
        )

    def _twin(self, ev: Twin) -> None:
        self.bank_changed = True
        if self.show_twin:
            what = f"debit {rupees(ev.amount)}" if ev.outcome == "processed" else ev.outcome
            self._row(Row(ev.t, "bank", f"twin: {what}", NOTE))

    # replies on the wire
    def _replied(self, ev: Replied) -> None:
        mark = outcomes.reply(ev.status, ev.replayed, ev.op)
        note = "replayed" if ev.replayed else mark.word
        label = reply_label(ev.txn_id, ev.attempt, ev.op)
        if self.http and ev.op not in outcomes.READS:
            code, headers = desk.status_line(ev.status, ev.replayed)
            label = f"{code} {label}"
            for name, value in headers.items():
                self._row(Row(ev.t, "bank", f"{name}: {value}", NOTE))
        row = self._row(Row(ev.t, REPLY, label, note=note, mark=mark))
        self._replies.setdefault((_wire(ev.txn_id, ev.op), ev.attempt), deque()).append(row)

    def _reply_delivered(self, ev: ReplyDelivered) -> None:
        wire = _wire(ev.txn_id, ev.op)
        queue = self._replies.get((wire, ev.attempt))
        if queue:
            row = queue.popleft()
            row.state = ARRIVED
            if ev.op in outcomes.READS:
                row.label = f"{row.label} = {read_answer(ev.op, ev.body, self._words(ev.txn_id))}"
            if not queue:
                del self._replies[(wire, ev.attempt)]
        if self._is_current(ev.txn_id) and ev.op not in outcomes.READS:
            receipt = self.atm.receipt
            # After an unknown outcome, r resends: that reply is acted on, not a late one.
            finished = receipt is not None and receipt.txn_id == ev.txn_id and receipt.outcome != "unknown"
            if not finished:
                self.atm.last_reply_replayed = ev.replayed
                self.atm.last_status = ev.status
            for a in self.atm.attempts:
                if a.number == ev.attempt:
                    if a.state.startswith("answered") or finished:
                        # A second reply to the same attempt (a duplicated request): it comes
                        # after the ATM acted on the first, and says so.
                        a.state += f"; then {outcomes.reply(ev.status, ev.replayed)}"
                    else:
                        a.state = outcomes.belief(ev.status, ev.replayed)

    # the ATM
    def _requested(self, ev: Requested) -> None:
        if ev.op in outcomes.READS:
            return
        self._ops[ev.txn_id] = ev.op
        if len(self._ops) > 4_000:
            for key in list(self._ops)[:2_000]:
                del self._ops[key]
        if self._storm_opening:
            # The engine mints the id and sends at once: learn it here, before its first event.
            self.add_storm_id(ev.txn_id)
        if ev.txn_id in self._storm_ids:
            return
        self.atm = AtmView(txn_id=ev.txn_id, amount=ev.amount, op=ev.op)
        self._debits = 0
        self._gap_crash = False
        self.atm.screen = "Processing..."
        what = f"Withdraw {rupees(ev.amount)}" if ev.op == "withdraw" else f"{ev.op.capitalize()}"
        if ev.op == "payment":
            what = f"Payment of {rupees(ev.amount)}"
        self.atm.detail = f"{what}, id {ev.txn_id}."

    def _timed_out(self, ev: TimedOut) -> None:
        if ev.op in outcomes.READS:
            name = message_name(ev.txn_id, ev.attempt, ev.op)
            self._row(Row(ev.t, "atm", f"◷ {name} timed out", NOTE))
            key = "s" if ev.op == "status" else "b"
            self.caption = (
                f"{name}: no answer came, so the ATM stopped waiting. A read changes nothing:"
                f" press {key} to ask again, safely."
            )
            return
        self._row(Row(ev.t, "atm", f"◷ {ev.txn_id} #{ev.attempt} timed out", NOTE))
        if self._is_current(ev.txn_id):
            for a in self.atm.attempts:
                if a.number == ev.attempt:
                    # A busy answer is not a final one: the ATM waits on, and can still time out.
                    answered = a.state.startswith("answered")
                    a.state = f"{a.state}; then ◷ timed out" if answered else "◷ timed out"

    def _retry_cancelled(self, ev: RetryCancelled) -> None:
        promise = self._promises.pop((ev.txn_id, ev.attempt), None)
        if promise is not None:
            promise.label = f"↻ resend as #{ev.attempt} (withdrawn)"
        self._row(Row(ev.t, "atm", f"✓ no resend #{ev.attempt}: {ev.txn_id}'s answer came first", NOTE))

    def _retrying(self, ev: Retrying) -> None:
        label = f"↻ resend as #{ev.attempt} in {ev.delay / 1000:.1f} s"
        promise = self._row(Row(ev.t, "atm", label, NOTE))
        self._promises[(ev.txn_id, ev.attempt)] = promise
        if len(self._promises) > 2_000:
            for key in list(self._promises)[:1_000]:
                del self._promises[key]
        if self._is_current(ev.txn_id):
            self.atm.screen = self._retry_screen(ev.attempt)
            self.atm.detail = self._retry_detail(ev.txn_id)

    def _gave_up(self, ev: GaveUp) -> None:
        self._row(Row(ev.t, "atm", f"? {ev.txn_id}: gave up, outcome unknown", NOTE,
                      mark=outcomes.UNKNOWN, key=True, txn=ev.txn_id))

    def _finished(self, ev: Finished) -> None:
        if ev.txn_id in self._storm_ids:
            self._storm_ids.discard(ev.txn_id)
            self.storm_done += 1
            if not self.storm_running:
                c, before = self.tally.counts, self._storm_start
                names = ("attempts", "deliveries", "replayed", "unknown")
                since = {k: c[k] - before.get(k, 0) for k in names}
                # Resends are the attempts after each first one that went on the wire; a retry that
                # was scheduled and then cancelled by a late reply never reached the file.
                resends = since["attempts"] - self.storm_total
                self._storm_caption = (
                    f"Storm over: {self.storm_total} withdrawals, {since['deliveries']} deliveries,"
                    f" {resends} resends, {since['replayed']} replays (no second debit),"
                    f" {since['unknown']} unknown."
                )
        if ev.outcome == "unknown":
            self.unknown.add(ev.txn_id)
        elif ev.outcome != "rejected":  # a 422 answers another request under the id, not the first
            self.unknown.discard(ev.txn_id)  # r resent it and an answer came
        if ev.outcome != "unknown":  # an unknown outcome already has its row: "? T129: gave up, ..."
            label = outcomes.finished(ev.outcome)
            self._row(Row(ev.t, "atm", f"{label.glyph} {ev.txn_id} {ev.outcome}", NOTE, mark=label))
        if not self._is_current(ev.txn_id):
            return
        atm = self.atm
        body = self._last_body.get(ev.txn_id, "")
        after = _field(body, "balance_after")
        attempts = len(atm.attempts)
        atm.receipt = Receipt(ev.txn_id, atm.amount, ev.outcome, after, atm.last_reply_replayed, attempts,
                              status=atm.last_status, op=atm.op)
        if atm.op != "withdraw" and ev.outcome not in ("unknown", "declined", "rejected"):
            atm.screen = f"{ev.txn_id}: {ev.outcome}."
            atm.detail = (
                "The reply was a replay: the bank had already done this." if atm.last_reply_replayed
                else "The bank did it: a fresh reply."
            )
            self.caption = f"{ev.txn_id}: {ev.outcome}."
        elif ev.outcome == "dispensed":
            atm.screen = f"Please take your cash: {rupees(atm.amount)}."
            atm.detail = (
                "The reply was a replay: the bank had already done this." if atm.last_reply_replayed
                else "The bank approved it: a fresh reply."
            )
            delivered = self._deliveries(ev.txn_id)
            self.caption = f"{ev.txn_id}: cash dispensed."
            if self._debits > 1:
                self.caption = (
                    f"{ev.txn_id}: delivered {delivered} times, debited {self._debits} times:"
                    f" {rupees(self._debits * atm.amount)} gone for one withdrawal. No idempotency."
                )
                if self._gap_crash:
                    self.caption = (
                        f"{ev.txn_id}: debited {self._debits} times: the crash fell between the debit and"
                        " the key (split mode), so the retry found no key. Debit and key: one transaction."
                    )
            elif atm.last_reply_replayed:
                self.caption = (
                    f"{ev.txn_id}: delivered {delivered} times, debited once."
                    " Exactly-once effect = at-least-once delivery + idempotent processing."
                )
        elif ev.outcome == "declined":
            atm.screen = "Declined: insufficient funds."
            atm.detail = "No cash. The decline is stored and replayed like any answer."
        elif ev.outcome == "unknown":
            atm.screen = "Status unknown. Please check your balance."
            atm.detail = "No answer after every attempt."
            atm.hint = "Press s to ask the bank by id, or r to retry."
            atm.hint_actions = ("status", "retry")
            words = outcomes.story(atm.op)
            self.caption = (
                f"{ev.txn_id}: no answer after {attempts} attempt{'s' if attempts != 1 else ''}:"
                f" {words.client} does not know {words.asked}. The bank's file knows."
            )
            for a in atm.attempts:
                if a.state == "sent, waiting…":
                    a.state = "? no answer"
        else:
            words = outcomes.story(atm.op)
            if ev.txn_id in self._foreign:
                atm.screen = "Rejected: this id belongs to another client."
                atm.detail = f"Another client used this key first; the bank refused it (422): {words.none}."
            else:
                atm.screen = "Rejected: this id was used for another request."
                atm.detail = "The bank refused it (422: the id names another request) and changed nothing."

    def _deliveries(self, txn_id: str) -> int:
        return self._delivery_counts.get(txn_id, 0)

    def _answered(self, ev: Answered) -> None:
        if ev.op == "balance":
            balance = _field(ev.body, "balance")
            self.atm.screen = f"Your balance: {rupees(balance or 0)}."
            self.atm.detail = "A read: asking twice changes nothing, so it needs no key."
            self.caption = (
                f"Balance inquiry: {rupees(balance or 0)}. A read changes nothing, so asking twice is"
                " safe and it needs no key."
            )
        elif ev.op == "status":
            status, debits, debited = outcomes.status_answer(ev.body)
            words = self._words(ev.txn_id)
            said = outcomes.status_words(status, words.done)
            # The bank's record, not a withdrawal: no cash comes out of a status query.
            self.atm.screen = f"Bank's record of {ev.txn_id}: {said}."
            # A read: it hands out nothing and changes nothing, in the story's own words.
            read = "A status query dispenses nothing." if words.goods == "cash" else (
                "A status query is a read: it changes nothing.")
            if words.effect in ("debit", "charge"):
                self.atm.detail = (
                    f"The bank's ledger has {debits} {words.effect}{'s' if debits != 1 else ''} for"
                    f" {ev.txn_id} ({rupees(debited)}). {read}"
                )
            else:
                self.atm.detail = read
            receipt = self.atm.receipt
            if receipt is not None and receipt.txn_id == ev.txn_id and receipt.outcome == "unknown":
                receipt.bank_says = _bank_says(ev.txn_id, status, debits, debited)
                self.atm.hint, self.atm.hint_actions = "Press r to retry with the same id.", ("retry",)
            money = f", {debits} {words.effect}{'s' if debits != 1 else ''}" if words.effect in (
                "debit", "charge") else ""
            self.caption = (
                f"Status query for {ev.txn_id}: the bank's record says {said}{money}. A read, safe to repeat."
            )

    def _resolved(self, ev: Resolved) -> None:
        self.unknown.discard(ev.txn_id)
        self.resolved += 1
        words = self._words(ev.txn_id)
        if ev.truth == "debited":
            self.caption = (
                f"{ev.txn_id}: the status query says {words.done}, but {words.client} never heard so:"
                f" r resends {ev.txn_id}, the bank replays, {words.no_effect}."
            )
        else:
            self.caption = (
                f"{ev.txn_id}: the status query says not {words.done}, nothing happened:"
                f" r sends {ev.txn_id} again, safely."
            )

    def store_failed(self, t: int, message: str, what: str = "db locked") -> None:
        """The app's note that the bank's file refused a transaction: the delivery is lost."""
        self._row(Row(t, "bank", f"✕ {what}: delivery lost", NOTE))
        self.caption = f"✕ {message}"

    def _crashed(self, ev: Crashed) -> None:
        if ev.where.startswith("between the debit"):
            # Split mode's gap: the first transaction (the debit) is on disk, the second (the key) never ran.
            if self._is_current(ev.txn_id):
                self._debits += 1
                self._gap_crash = True
            self._row(Row(ev.t, "bank", "✕ BANK CRASHED", NOTE, key=True, txn=ev.txn_id))
            self._row(Row(ev.t, "bank", f"✕ {ev.txn_id} debited, no key", NOTE, key=True, txn=ev.txn_id))
            self.caption = (
                f"✕ The bank crashed between the debit of {ev.txn_id} and storing its key: the debit is"
                " committed, the key is not. The retry will find no key."
            )
        else:
            self._row(Row(ev.t, "bank", f"✕ BANK CRASHED ({ev.where})", NOTE))
            self.caption = f"✕ The bank crashed ({ev.where}): what it had not committed is gone."
        self.bank_changed = True

    def _rolled_back(self, ev: RolledBack) -> None:
        # It arrived, then died with the crash before its transaction: no row in the file.
        if ev.op not in outcomes.READS:
            self._writes["deliveries"] -= 1
            self._writes["rolled_back"] += 1
            counts = self._delivery_counts
            if ev.txn_id in counts:
                counts[ev.txn_id] -= 1
        self._row(Row(ev.t, "bank", f"↩ {ev.txn_id} #{ev.attempt} rolled back {ev.where}", NOTE,
                      key=True, txn=ev.txn_id))
        self.caption = (
            f"✕ The bank crashed while handling {ev.txn_id} #{ev.attempt}: its transaction never"
            " committed, so the arrival is rolled back and nothing of it is in the file."
        )

    def _recovered(self, ev: Recovered) -> None:
        self._row(Row(ev.t, "bank", "● bank back up", NOTE))
        self.caption = "The bank is back up, with only what it had committed."

    def _control(self, ev: Control) -> None:
        if ev.name.startswith(START_CONTROL):
            # The scenario's starting state, from the trace: no caption, only what later words need.
            setting = ev.name.removeprefix(START_CONTROL)
            if setting == "mode":
                self.bank_mode = ev.value
            elif setting == "ttl":
                self.ttl = int(ev.value)
            elif setting == "wire":
                self.http = ev.value == "http"
            elif setting == "account":
                self.account = ev.value
            return
        if ev.name == "compare":
            self.show_twin = ev.value == "True"  # from the trace: forward and a rebuilt view agree
        if ev.name == "mode":
            self.bank_mode = ev.value
        if ev.name == "ttl":
            self.ttl = int(ev.value)
            self.caption = (
                f"Keys are now kept {int(ev.value) / 1000:g} s: a retry later than that is treated as new."
            )
            return
        if ev.name in self.armed:
            self.armed[ev.name] += int(ev.value)
            n = self.armed[ev.name]
            what = {"drop_next_replies": ("lose", "reply", "replies"),
                    "drop_next_requests": ("lose", "request", "requests"),
                    "duplicate_next_requests": ("deliver twice", "request", "requests")}[ev.name]
            verb, one, many = what
            self.caption = (
                f"Hiccup armed: the network will {verb} the next {one}." if n == 1
                else f"Hiccup armed: the network will {verb} each of the next {n} {many}."
            )
            return
        switch = _SWITCH_CAPTIONS.get(ev.name)
        if switch is not None:
            self.caption = switch[0] if ev.value == "True" else switch[1]
            return
        text = _CONTROL_CAPTIONS.get(ev.name)
        if text is not None:
            self.caption = text.format(value=ev.value)

    # bodies and delivery counts the receipt and the caption need, kept for the current id only
    def _track_body(self, ev: ReplyDelivered) -> None:
        if self._is_current(ev.txn_id):
            self._last_body = {ev.txn_id: ev.body}
        self._reply_delivered(ev)

    def _ignored(self, ev: Ignored) -> None:
        # A reply the ATM had no use for: it had finished with this id already.
        if self._is_current(ev.txn_id):
            for a in self.atm.attempts:
                if a.number == ev.attempt and not a.state.endswith("ignored"):
                    a.state += ", ignored (already finished)" if a.state.startswith("answered") else ""

    def _track_delivery(self, ev: Delivered) -> None:
        if ev.op not in outcomes.READS:
            self._writes["deliveries"] += 1
        if ev.op not in outcomes.READS and self._is_current(ev.txn_id):
            counts = self._delivery_counts
            if ev.txn_id not in counts:
                counts.clear()
            counts[ev.txn_id] = counts.get(ev.txn_id, 0) + 1
        self._delivered(ev)


GAP_MARK_MS = 4_000  # a jump of virtual time at least this long gets its own row


def request_label(txn_id: str, attempt: int, op: str) -> str:
    """A request on the wire: GET for a read, POST with its Idempotency-Key for another write."""
    if op == "balance":
        return "GET balance"
    if op == "status":
        return f"GET {txn_id} status"
    if op == "withdraw":
        return f"{txn_id} #{attempt}"
    return f"POST {txn_id} #{attempt}"


def message_name(txn_id: str, attempt: int, op: str) -> str:
    """A message in a caption: a read by what it asks, a write by its id and attempt."""
    if op in outcomes.READS:
        return request_label(txn_id, attempt, op)
    return f"{txn_id} #{attempt}"


def _wire(txn_id: str, op: str) -> str:
    """The index key of a message in flight: a status read of T126 is not T126's own attempt."""
    return f"{op} {txn_id}" if op in outcomes.READS else txn_id


def reply_label(txn_id: str, attempt: int, op: str) -> str:
    if op == "balance":
        return "balance"
    if op == "status":
        return f"{txn_id} status"
    if op == "withdraw":
        return f"{txn_id} #{attempt}"
    return f"{op} {txn_id} #{attempt}"


def read_answer(op: str, body: str, words: outcomes.Story | None = None) -> str:
    """What a read's reply says, in a few words (the diagram's label), in the story's words."""
    if op == "balance":
        value = _field(body, "balance")
        return rupees(value or 0)
    words = words or outcomes.story("withdraw")
    status, debits, _debited = outcomes.status_answer(body)
    said = outcomes.status_words(status, words.done)
    if words.effect not in ("debit", "charge"):
        return said
    return f"{said}, {debits} {words.effect}{'s' if debits != 1 else ''}"


def _cause(cause: str) -> str:
    return {
        "forced": "a hiccup you injected",
        "drop-all": "every reply is being dropped",
        "random": "random loss",
        "bank-down": "the bank is down",
    }.get(cause, cause)


def _bank_says(txn_id: str, status: str, debits: int, debited: int) -> str:
    """The receipt's line after a status query settles an unknown outcome."""
    if debits:
        return (
            f"{txn_id} debited {rupees(debited)} — no cash was dispensed;"
            " press r to retry with the same id and get your cash"
        )
    if status == "declined":
        return f"{txn_id} declined — nothing was taken"
    if status == "not_found":
        return f"{txn_id} never processed — nothing was taken; r sends it again, safely"
    return f"{txn_id} {status.replace('_', ' ')} — nothing debited yet; press s again shortly"


def _load(body: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _field(body: str, name: str) -> int | None:
    value = _load(body).get(name)
    return int(value) if isinstance(value, int) else None


_CONTROL_CAPTIONS = {
    "mode": "The bank is now {value}.",
    "crash_in_gap": (
        "Crash armed: in split mode the bank will die after its next debit, before storing the key."
    ),
    "balance": "Balance inquiry sent: a read, safe to repeat.",
}
# Switches: the engine records str(bool); the caption says what on and off mean.
_SWITCH_CAPTIONS = {
    "drop_all_replies": (
        "Every reply is dropped from now on: the bank still acts, the ATM hears nothing back.",
        "Replies get through again.",
    ),
    "auto_retry": (
        "Automatic retry on: after a timeout the ATM resends the same id by itself.",
        "Automatic retry off: after a timeout the ATM gives up; press r to resend the same id by hand.",
    ),
    "compare": (
        "Compare mode on: a naive twin bank beside the real one gets the very same deliveries.",
        "Compare mode off: the real bank alone is shown.",
    ),
}

_HANDLERS: dict[type[Event], Callable[[View, Any], None]] = {
    Sent: View._sent,
    Dropped: View._dropped,
    Duplicated: View._duplicated,
    Delivered: View._track_delivery,
    Processed: View._processed,
    Replayed: View._replayed,
    Declined: View._declined,
    InProgress: View._in_progress,
    Rejected: View._rejected,
    Twin: View._twin,
    KeyExpired: View._key_expired,
    Ignored: View._ignored,
    Replied: View._replied,
    ReplyDelivered: View._track_body,
    Requested: View._requested,
    TimedOut: View._timed_out,
    Retrying: View._retrying,
    RetryCancelled: View._retry_cancelled,
    GaveUp: View._gave_up,
    Finished: View._finished,
    Answered: View._answered,
    Resolved: View._resolved,
    Crashed: View._crashed,
    Recovered: View._recovered,
    RolledBack: View._rolled_back,
    Control: View._control,
}
