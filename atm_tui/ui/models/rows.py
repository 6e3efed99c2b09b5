"""The sequence diagram's rows: one line a message or a note, and the words on its arrows.

Textual-free. A row restates an event; its label comes from here or from the one outcome mapping
(`outcomes`), so the diagram, an export frame and `check --watch` draw the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from atm_tui.bank.money import rupees
from atm_tui.sim.events import REPLY, REQUEST
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.outcomes import Label

__all__ = [
    "ARRIVED", "FLYING", "GAP_MARK_MS", "LOST", "NOTE", "REPLY", "REQUEST", "Row", "field", "message_name",
    "read_answer", "reply_label", "request_label", "wire_key",
]  # fmt: skip

# Row states. A message row is drawn as soon as it is sent and updated when its fate is known.
FLYING = "flying"
ARRIVED = "arrived"
LOST = "lost"
NOTE = "note"

GAP_MARK_MS = 4_000  # a jump of virtual time at least this long gets its own row


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


def wire_key(txn_id: str, op: str) -> str:
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
        value = field(body, "balance")
        return rupees(value or 0)
    words = words or outcomes.story("withdraw")
    status, debits, _debited = outcomes.status_answer(body)
    said = outcomes.status_words(status, words.done)
    if words.effect not in ("debit", "charge"):
        return said
    return f"{said}, {debits} {words.effect}{'s' if debits != 1 else ''}"


def field(body: str, name: str) -> int | None:
    """A whole-number field of a reply's JSON body, or None."""
    value = outcomes.load(body).get(name)
    return int(value) if isinstance(value, int) else None
