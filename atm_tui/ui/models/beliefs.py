"""What the ATM believes: the customer's screen, each send of the current transaction, the receipt.

Textual-free. The ATM pane draws these; the handlers in `on_wire`, `on_bank` and `on_atm` keep
them up to date from the engine's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atm_tui.bank.money import rupees


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


def bank_says(txn_id: str, status: str, debits: int, debited: int) -> str:
    """The receipt's line after a status query settles an unknown outcome."""
    if debits:
        return (
            f"{txn_id} debited {rupees(debited)} — no cash was dispensed;"
            " press ‹retry› to retry with the same id and get your cash"
        )
    if status == "declined":
        return f"{txn_id} declined — nothing was taken"
    if status == "not_found":
        return f"{txn_id} never processed — nothing was taken; ‹retry› sends it again, safely"
    return f"{txn_id} {status.replace('_', ' ')} — nothing debited yet; press ‹status› again shortly"
