"""The View's handlers for the bank: a debit, a replay, a decline, a crash, a key forgotten.

Textual-free. Each handler restates one event as a note on the bank's lane and a caption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atm_tui.bank.idempotency import FOREIGN
from atm_tui.bank.money import rupees
from atm_tui.sim.events import (
    Crashed,
    Declined,
    InProgress,
    KeyExpired,
    Processed,
    Recovered,
    Rejected,
    Replayed,
    RolledBack,
    Twin,
)  # fmt: skip
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.rows import NOTE, Row

if TYPE_CHECKING:
    from atm_tui.ui.models.view import View


def processed(view: View, ev: Processed) -> None:
    view.bank_changed = True
    if view.is_current(ev.txn_id):
        view.debits += 1
    words = view.words_of(ev.txn_id)
    if ev.amount:
        view.add_row(
            Row(
                ev.t,
                "bank",
                f"$ {words.effect} {rupees(ev.amount)}",
                NOTE,
                mark=outcomes.PROCESSED,
                key=True,
                txn=ev.txn_id,
            )
        )
        view.caption = (
            f"{ev.txn_id} #{ev.attempt}: the bank {words.does} {rupees(ev.amount)} and sends its reply."
        )
    else:
        # An order or a vote: the bank writes its row, no money moves.
        view.add_row(
            Row(
                ev.t,
                "bank",
                f"$ {ev.txn_id} processed",
                NOTE,
                mark=outcomes.PROCESSED,
                key=True,
                txn=ev.txn_id,
            )
        )
        view.caption = f"{ev.txn_id} #{ev.attempt}: the bank {words.does} and sends its reply."


def replayed(view: View, ev: Replayed) -> None:
    view.bank_changed = True
    words = view.words_of(ev.txn_id)
    view.add_row(Row(ev.t, "bank", f"↺ replay, {words.no_effect}", NOTE, mark=outcomes.REPLAYED))
    replays = ev.hits - 1
    view.caption = (
        f"{ev.txn_id} #{ev.attempt}: the bank has seen {ev.txn_id} before"
        f" (replay {replays} after the first processing)."
        f" It sends the stored reply again and {words.nothing}."
    )


def declined(view: View, ev: Declined) -> None:
    view.bank_changed = True
    view.add_row(Row(ev.t, "bank", f"✗ declined: balance {rupees(ev.balance)}", NOTE, mark=outcomes.DECLINED))
    view.caption = (
        f"{ev.txn_id}: declined, balance {rupees(ev.balance)} < {rupees(ev.amount)}; nothing was"
        " debited. The decline is stored and replayed like any answer."
    )


def in_progress(view: View, ev: InProgress) -> None:
    view.bank_changed = True
    view.add_row(Row(ev.t, "bank", f"⧖ {ev.txn_id} still in progress", NOTE, mark=outcomes.IN_PROGRESS))
    view.caption = (
        f"{ev.txn_id} #{ev.attempt}: the bank is still processing an earlier attempt of {ev.txn_id}:"
        ' it answers "in progress, retry later" (409) and stores nothing.'
    )


def rejected(view: View, ev: Rejected) -> None:
    view.bank_changed = True
    if ev.reason == FOREIGN:
        view.foreign.add(ev.txn_id)
        view.add_row(
            Row(
                ev.t,
                "bank",
                f"✗ {ev.txn_id}: another client's key",
                NOTE,
                mark=outcomes.REJECTED,
                key=True,
                txn=ev.txn_id,
            )
        )
        view.caption = (
            f"{ev.txn_id} #{ev.attempt}: this key belongs to another client (another ATM): the bank"
            " refuses it (422). Replaying that client's answer would pay cash with no debit."
        )
        return
    view.add_row(
        Row(
            ev.t,
            "bank",
            f"✗ {ev.txn_id}: same id, other body",
            NOTE,
            mark=outcomes.REJECTED,
            key=True,
            txn=ev.txn_id,
        )
    )
    view.caption = (
        f"{ev.txn_id} #{ev.attempt}: same id, different request: the bank rejects it (422)"
        " and changes nothing."
    )


def key_expired(view: View, ev: KeyExpired) -> None:
    ttl = ev.ttl or view.ttl  # the trace's own figure; an old trace's falls back to the setting
    kept = f" (kept {ttl / 1000:g} s)" if ttl is not None else ""
    view.add_row(
        Row(
            ev.t,
            "bank",
            f"⧗ {ev.txn_id} key expired{kept}",
            NOTE,
            mark=outcomes.EXPIRED,
            key=True,
            txn=ev.txn_id,
        )
    )
    view.caption = (
        f"{ev.txn_id} #{ev.attempt}: the key's retention window{kept} had passed: the bank has"
        f" forgotten {ev.txn_id} and treats this delivery as new."
    )


def twin(view: View, ev: Twin) -> None:
    view.bank_changed = True
    if view.show_twin:
        what = f"debit {rupees(ev.amount)}" if ev.outcome == "processed" else ev.outcome
        view.add_row(Row(ev.t, "bank", f"twin: {what}", NOTE))


def crashed(view: View, ev: Crashed) -> None:
    if ev.where.startswith("between the debit"):
        # Split mode's gap: the first transaction (the debit) is on disk, the second (the key) never ran.
        if view.is_current(ev.txn_id):
            view.debits += 1
            view.gap_crash = True
        view.add_row(Row(ev.t, "bank", "✕ BANK CRASHED", NOTE, key=True, txn=ev.txn_id))
        view.add_row(Row(ev.t, "bank", f"✕ {ev.txn_id} debited, no key", NOTE, key=True, txn=ev.txn_id))
        view.caption = (
            f"✕ The bank crashed between the debit of {ev.txn_id} and storing its key: the debit is"
            " committed, the key is not. The retry will find no key."
        )
    else:
        view.add_row(Row(ev.t, "bank", f"✕ BANK CRASHED ({ev.where})", NOTE))
        view.caption = f"✕ The bank crashed ({ev.where}): what it had not committed is gone."
    view.bank_changed = True


def rolled_back(view: View, ev: RolledBack) -> None:
    # It arrived, then died with the crash before its transaction: no row in the file.
    if ev.op not in outcomes.READS:
        view.writes["deliveries"] -= 1
        view.writes["rolled_back"] += 1
        counts = view.delivery_counts
        if ev.txn_id in counts:
            counts[ev.txn_id] -= 1
    view.add_row(
        Row(
            ev.t, "bank", f"↩ {ev.txn_id} #{ev.attempt} rolled back {ev.where}", NOTE, key=True, txn=ev.txn_id
        )
    )
    view.caption = (
        f"✕ The bank crashed while handling {ev.txn_id} #{ev.attempt}: its transaction never"
        " committed, so the arrival is rolled back and nothing of it is in the file."
    )


def recovered(view: View, ev: Recovered) -> None:
    view.add_row(Row(ev.t, "bank", "● bank back up", NOTE))
    view.caption = "The bank is back up, with only what it had committed."
