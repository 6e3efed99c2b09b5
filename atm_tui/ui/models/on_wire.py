"""The View's handlers for the network: requests and replies on the wire, lost, doubled, arrived.

Textual-free. Each handler restates one event as diagram rows, the ATM's beliefs and a caption.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from atm_tui.bank.money import rupees
from atm_tui.http import desk
from atm_tui.sim.events import Delivered, Dropped, Duplicated, Replied, ReplyDelivered, Sent
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.beliefs import Attempt
from atm_tui.ui.models.captions import cause_words
from atm_tui.ui.models.rows import (
    ARRIVED,
    FLYING,
    LOST,
    NOTE,
    REPLY,
    REQUEST,
    Row,
    message_name,
    read_answer,
    reply_label,
    request_label,
    wire_key,
)  # fmt: skip

if TYPE_CHECKING:
    from atm_tui.ui.models.view import View


def sent(view: View, ev: Sent) -> None:
    if view.http and ev.op not in outcomes.READS:
        again = "same " if ev.attempt > 1 else ""
        view.add_row(Row(ev.t, "atm", f"{desk.request_line(ev.op, view.account)}", NOTE))
        view.add_row(Row(ev.t, "atm", f"  {again}Idempotency-Key: {ev.txn_id}", NOTE))
    row = view.add_row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
    view.forget_old()
    view.requests[(wire_key(ev.txn_id, ev.op), ev.attempt, 1)] = row
    if ev.op not in outcomes.READS:
        view.writes["attempts"] += 1
    if ev.op not in outcomes.READS and ev.attempt > 1:
        view.resends += 1
    if ev.op not in outcomes.READS and view.is_current(ev.txn_id):
        view.atm.attempts.append(Attempt(ev.attempt))
        if ev.attempt > 1:
            view.atm.screen = view.retry_screen(ev.attempt)
            view.atm.detail = view.retry_detail(ev.txn_id)
            view.atm.hint, view.atm.hint_actions = "", ()
            client = view.words_of(ev.txn_id).client
            view.caption = f"{ev.txn_id} #{ev.attempt}: {client} sends the same id and body again."
        else:
            view.atm.screen = "Processing..."
            what = rupees(ev.amount) if ev.op == "withdraw" else f"the {ev.op}"
            view.atm.detail = f"Asking the bank for {what} ({ev.txn_id})."


def dropped(view: View, ev: Dropped) -> None:
    if ev.cause == "forced":
        name = "drop_next_requests" if ev.direction == REQUEST else "drop_next_replies"
        view.armed[name] = max(0, view.armed[name] - 1)
    name = message_name(ev.txn_id, ev.attempt, ev.op)
    wire = wire_key(ev.txn_id, ev.op)
    if ev.direction == REQUEST:
        row = view.requests.get((wire, ev.attempt, 1))
        if row is None or row.state != FLYING or ev.cause == "bank-down":
            row = view.add_row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
        row.state, row.cause, row.note, row.key, row.txn = LOST, ev.cause, "lost", True, ev.txn_id
        view.caption = f"{name}: the request was lost ({cause_words(ev.cause)})."
    else:
        queue = view.replies.get((wire, ev.attempt))
        label = reply_label(ev.txn_id, ev.attempt, ev.op)
        row = queue[-1] if queue else view.add_row(Row(ev.t, REPLY, label))
        if queue:
            queue.pop()
        row.state, row.cause, row.key, row.txn = LOST, ev.cause, True, ev.txn_id
        row.note = "lost"
        if ev.op in outcomes.READS:
            view.caption = (
                f"{name}: the bank answered but the reply was lost ({cause_words(ev.cause)})."
                " The ATM will time out; a read is safe to ask again."
            )
        else:
            words = view.words_of(ev.txn_id).client
            client = words[:1].upper() + words[1:]
            view.caption = (
                f"{name}: the bank answered but the reply was lost ({cause_words(ev.cause)})."
                f" {client} cannot tell this from a lost request."
            )


def duplicated(view: View, ev: Duplicated) -> None:
    if ev.cause == "forced":
        view.armed["duplicate_next_requests"] = max(0, view.armed["duplicate_next_requests"] - 1)
    wire = wire_key(ev.txn_id, ev.op)
    first = view.requests.get((wire, ev.attempt, 1))
    if first is not None:
        first.duplicate = True
    label = first.label if first is not None else request_label(ev.txn_id, ev.attempt, ev.op)
    copy = view.add_row(Row(ev.t, REQUEST, label, duplicate=True, note="copy 2"))
    view.requests[(wire, ev.attempt, 2)] = copy
    name = message_name(ev.txn_id, ev.attempt, ev.op)
    view.caption = f"{name}: the network will deliver this request twice."


def delivered(view: View, ev: Delivered) -> None:
    row = view.requests.pop((wire_key(ev.txn_id, ev.op), ev.attempt, ev.copy), None)
    if row is None:
        row = view.add_row(Row(ev.t, REQUEST, request_label(ev.txn_id, ev.attempt, ev.op)))
    row.state = ARRIVED
    row.note = "copy 2" if ev.copy > 1 else "arrived"


def track_delivery(view: View, ev: Delivered) -> None:
    if ev.op not in outcomes.READS:
        view.writes["deliveries"] += 1
    if ev.op not in outcomes.READS and view.is_current(ev.txn_id):
        counts = view.delivery_counts
        if ev.txn_id not in counts:
            counts.clear()
        counts[ev.txn_id] = counts.get(ev.txn_id, 0) + 1
    delivered(view, ev)


# replies on the wire
def replied(view: View, ev: Replied) -> None:
    mark = outcomes.reply(ev.status, ev.replayed, ev.op)
    note = "replayed" if ev.replayed else mark.word
    label = reply_label(ev.txn_id, ev.attempt, ev.op)
    if view.http and ev.op not in outcomes.READS:
        code, headers = desk.status_line(ev.status, ev.replayed)
        label = f"{code} {label}"
        for name, value in headers.items():
            view.add_row(Row(ev.t, "bank", f"{name}: {value}", NOTE))
    row = view.add_row(Row(ev.t, REPLY, label, note=note, mark=mark))
    view.replies.setdefault((wire_key(ev.txn_id, ev.op), ev.attempt), deque()).append(row)


def reply_delivered(view: View, ev: ReplyDelivered) -> None:
    wire = wire_key(ev.txn_id, ev.op)
    queue = view.replies.get((wire, ev.attempt))
    if queue:
        row = queue.popleft()
        row.state = ARRIVED
        if ev.op in outcomes.READS:
            row.label = f"{row.label} = {read_answer(ev.op, ev.body, view.words_of(ev.txn_id))}"
        if not queue:
            del view.replies[(wire, ev.attempt)]
    if view.is_current(ev.txn_id) and ev.op not in outcomes.READS:
        receipt = view.atm.receipt
        # After an unknown outcome, a retry resends: that reply is acted on, not a late one.
        finished = receipt is not None and receipt.txn_id == ev.txn_id and receipt.outcome != "unknown"
        if not finished:
            view.atm.last_reply_replayed = ev.replayed
            view.atm.last_status = ev.status
        for a in view.atm.attempts:
            if a.number == ev.attempt:
                if a.state.startswith("answered") or finished:
                    # A second reply to the same attempt (a duplicated request): it comes
                    # after the ATM acted on the first, and says so.
                    a.state += f"; then {outcomes.reply(ev.status, ev.replayed)}"
                else:
                    a.state = outcomes.belief(ev.status, ev.replayed)


# bodies and delivery counts the receipt and the caption need, kept for the current id only
def track_body(view: View, ev: ReplyDelivered) -> None:
    if view.is_current(ev.txn_id):
        view.last_body = {ev.txn_id: ev.body}
    reply_delivered(view, ev)
