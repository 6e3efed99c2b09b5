"""The View's handlers for the ATM: a withdrawal begun, a timeout, a retry, the outcome, a read.

Textual-free. Each handler restates one event as the customer's screen, the receipt, a row
and a caption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atm_tui.bank.money import rupees
from atm_tui.sim.events import (
    Answered,
    Finished,
    GaveUp,
    Ignored,
    Requested,
    Resolved,
    RetryCancelled,
    Retrying,
    TimedOut,
)  # fmt: skip
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.beliefs import AtmView, Receipt, bank_says
from atm_tui.ui.models.rows import NOTE, Row, field, message_name

if TYPE_CHECKING:
    from atm_tui.ui.models.view import View


def requested(view: View, ev: Requested) -> None:
    if ev.op in outcomes.READS:
        return
    view.ops[ev.txn_id] = ev.op
    if len(view.ops) > 4_000:
        for key in list(view.ops)[:2_000]:
            del view.ops[key]
    if view.storm.opening:
        # The engine mints the id and sends at once: learn it here, before its first event.
        view.add_storm_id(ev.txn_id)
    if ev.txn_id in view.storm.ids:
        return
    view.atm = AtmView(txn_id=ev.txn_id, amount=ev.amount, op=ev.op)
    view.debits = 0
    view.gap_crash = False
    view.atm.screen = "Processing..."
    what = f"Withdraw {rupees(ev.amount)}" if ev.op == "withdraw" else f"{ev.op.capitalize()}"
    if ev.op == "payment":
        what = f"Payment of {rupees(ev.amount)}"
    view.atm.detail = f"{what}, id {ev.txn_id}."


def timed_out(view: View, ev: TimedOut) -> None:
    if ev.op in outcomes.READS:
        name = message_name(ev.txn_id, ev.attempt, ev.op)
        view.add_row(Row(ev.t, "atm", f"◷ {name} timed out", NOTE))
        key = "s" if ev.op == "status" else "b"
        view.caption = (
            f"{name}: no answer came, so the ATM stopped waiting. A read changes nothing:"
            f" press {key} to ask again, safely."
        )
        return
    view.add_row(Row(ev.t, "atm", f"◷ {ev.txn_id} #{ev.attempt} timed out", NOTE))
    if view.is_current(ev.txn_id):
        for a in view.atm.attempts:
            if a.number == ev.attempt:
                # A busy answer is not a final one: the ATM waits on, and can still time out.
                answered = a.state.startswith("answered")
                a.state = f"{a.state}; then ◷ timed out" if answered else "◷ timed out"


def retry_cancelled(view: View, ev: RetryCancelled) -> None:
    promise = view.promises.pop((ev.txn_id, ev.attempt), None)
    if promise is not None:
        promise.label = f"↻ resend as #{ev.attempt} (withdrawn)"
    view.add_row(Row(ev.t, "atm", f"✓ no resend #{ev.attempt}: {ev.txn_id}'s answer came first", NOTE))


def retrying(view: View, ev: Retrying) -> None:
    label = f"↻ resend as #{ev.attempt} in {ev.delay / 1000:.1f} s"
    promise = view.add_row(Row(ev.t, "atm", label, NOTE))
    view.promises[(ev.txn_id, ev.attempt)] = promise
    if len(view.promises) > 2_000:
        for key in list(view.promises)[:1_000]:
            del view.promises[key]
    if view.is_current(ev.txn_id):
        view.atm.screen = view.retry_screen(ev.attempt)
        view.atm.detail = view.retry_detail(ev.txn_id)


def gave_up(view: View, ev: GaveUp) -> None:
    view.add_row(
        Row(
            ev.t,
            "atm",
            f"? {ev.txn_id}: gave up, outcome unknown",
            NOTE,
            mark=outcomes.UNKNOWN,
            key=True,
            txn=ev.txn_id,
        )
    )


def ignored(view: View, ev: Ignored) -> None:
    # A reply the ATM had no use for: it had finished with this id already.
    if view.is_current(ev.txn_id):
        for a in view.atm.attempts:
            if a.number == ev.attempt and not a.state.endswith("ignored"):
                a.state += ", ignored (already finished)" if a.state.startswith("answered") else ""


def finished(view: View, ev: Finished) -> None:
    if ev.txn_id in view.storm.ids:
        view.storm.finish(ev.txn_id, view.tally.counts)
    if ev.outcome == "unknown":
        view.unknown.add(ev.txn_id)
    elif ev.outcome != "rejected":  # a 422 answers another request under the id, not the first
        view.unknown.discard(ev.txn_id)  # r resent it and an answer came
    if ev.outcome != "unknown":  # an unknown outcome already has its row: "? T129: gave up, ..."
        label = outcomes.finished(ev.outcome)
        view.add_row(Row(ev.t, "atm", f"{label.glyph} {ev.txn_id} {ev.outcome}", NOTE, mark=label))
    if not view.is_current(ev.txn_id):
        return
    atm = view.atm
    body = view.last_body.get(ev.txn_id, "")
    after = field(body, "balance_after")
    attempts = len(atm.attempts)
    atm.receipt = Receipt(
        ev.txn_id,
        atm.amount,
        ev.outcome,
        after,
        atm.last_reply_replayed,
        attempts,
        status=atm.last_status,
        op=atm.op,
    )
    if atm.op != "withdraw" and ev.outcome not in ("unknown", "declined", "rejected"):
        atm.screen = f"{ev.txn_id}: {ev.outcome}."
        atm.detail = (
            "The reply was a replay: the bank had already done this."
            if atm.last_reply_replayed
            else "The bank did it: a fresh reply."
        )
        view.caption = f"{ev.txn_id}: {ev.outcome}."
    elif ev.outcome == "dispensed":
        atm.screen = f"Please take your cash: {rupees(atm.amount)}."
        atm.detail = (
            "The reply was a replay: the bank had already done this."
            if atm.last_reply_replayed
            else "The bank approved it: a fresh reply."
        )
        delivered = view.deliveries(ev.txn_id)
        view.caption = f"{ev.txn_id}: cash dispensed."
        if view.debits > 1:
            view.caption = (
                f"{ev.txn_id}: delivered {delivered} times, debited {view.debits} times:"
                f" {rupees(view.debits * atm.amount)} gone for one withdrawal. No idempotency."
            )
            if view.gap_crash:
                view.caption = (
                    f"{ev.txn_id}: debited {view.debits} times: the crash fell between the debit and"
                    " the key (split mode), so the retry found no key. Debit and key: one transaction."
                )
        elif atm.last_reply_replayed:
            view.caption = (
                f"{ev.txn_id}: delivered {delivered} times, debited once."
                " Exactly-once effect = at-least-once delivery + idempotent processing."
            )
    elif ev.outcome == "declined":
        atm.screen = "Declined: insufficient funds."
        atm.detail = "No cash. The decline is stored and replayed like any answer."
    elif ev.outcome == "unknown":
        atm.screen = "Status unknown. Please check your balance."
        atm.detail = "No answer after every attempt."
        atm.hint = "Press ‹status› to ask the bank by id, or ‹retry› to retry."
        atm.hint_actions = ("status", "retry")
        words = outcomes.story(atm.op)
        view.caption = (
            f"{ev.txn_id}: no answer after {attempts} attempt{'s' if attempts != 1 else ''}:"
            f" {words.client} does not know {words.asked}. The bank's file knows."
        )
        for a in atm.attempts:
            if a.state == "sent, waiting…":
                a.state = "? no answer"
    else:
        words = outcomes.story(atm.op)
        if ev.txn_id in view.foreign:
            atm.screen = "Rejected: this id belongs to another client."
            atm.detail = f"Another client used this key first; the bank refused it (422): {words.none}."
        else:
            atm.screen = "Rejected: this id was used for another request."
            atm.detail = "The bank refused it (422: the id names another request) and changed nothing."


def answered(view: View, ev: Answered) -> None:
    if ev.op == "balance":
        balance = field(ev.body, "balance")
        view.atm.screen = f"Your balance: {rupees(balance or 0)}."
        view.atm.detail = "A read: asking twice changes nothing, so it needs no key."
        view.caption = (
            f"Balance inquiry: {rupees(balance or 0)}. A read changes nothing, so asking twice is"
            " safe and it needs no key."
        )
    elif ev.op == "status":
        status, debits, debited = outcomes.status_answer(ev.body)
        words = view.words_of(ev.txn_id)
        said = outcomes.status_words(status, words.done)
        # The bank's record, not a withdrawal: no cash comes out of a status query.
        view.atm.screen = f"Bank's record of {ev.txn_id}: {said}."
        # A read: it hands out nothing and changes nothing, in the story's own words.
        read = (
            "A status query dispenses nothing."
            if words.goods == "cash"
            else ("A status query is a read: it changes nothing.")
        )
        if words.effect in ("debit", "charge"):
            view.atm.detail = (
                f"The bank's ledger has {debits} {words.effect}{'s' if debits != 1 else ''} for"
                f" {ev.txn_id} ({rupees(debited)}). {read}"
            )
        else:
            view.atm.detail = read
        receipt = view.atm.receipt
        if receipt is not None and receipt.txn_id == ev.txn_id and receipt.outcome == "unknown":
            receipt.bank_says = bank_says(ev.txn_id, status, debits, debited)
            view.atm.hint, view.atm.hint_actions = "Press ‹retry› to retry with the same id.", ("retry",)
        money = (
            f", {debits} {words.effect}{'s' if debits != 1 else ''}"
            if words.effect in ("debit", "charge")
            else ""
        )
        view.caption = (
            f"Status query for {ev.txn_id}: the bank's record says {said}{money}. A read, safe to repeat."
        )


def resolved(view: View, ev: Resolved) -> None:
    view.unknown.discard(ev.txn_id)
    view.resolved += 1
    words = view.words_of(ev.txn_id)
    if ev.truth == "debited":
        view.caption = (
            f"{ev.txn_id}: the status query says {words.done}, but {words.client} never heard so:"
            f" ‹retry› resends {ev.txn_id}, the bank replays, {words.no_effect}."
        )
    else:
        view.caption = (
            f"{ev.txn_id}: the status query says not {words.done}, nothing happened:"
            f" ‹retry› sends {ev.txn_id} again, safely."
        )
