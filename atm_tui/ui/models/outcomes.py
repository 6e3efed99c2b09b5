"""One mapping from a recorded outcome to the words, glyphs and colours every pane shows.

No Textual here. The diagram, the receipt, the belief list, the captions and the bank pane all
ask this module, so two panes cannot word the same outcome differently, and a label can only
say what the event or the row says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from atm_tui.ui.models import colours

# Colour roles, each painted with a theme variable (so a theme recolours every pane).
ROLE_VARIABLES: dict[str, str] = {
    "request": "primary",
    "fresh": "success",
    "replay": "secondary",
    "busy": "warning",
    "refused": "error",
    "lost": "error",
    "dup": "accent",
    "read": "primary",
    "hot": "error",
}
ROLES = tuple(ROLE_VARIABLES)


def palette(variables: dict[str, str] | None = None) -> dict[str, str]:
    """Role -> a bold Rich style in the theme's colour (the default theme's when none is given:
    a headless render, a test)."""
    source = variables or {}
    return {role: f"bold {source.get(var) or colours.DEFAULT[var]}" for role, var in ROLE_VARIABLES.items()}


@dataclass(frozen=True, slots=True)
class Label:
    """A glyph (never colour alone), a word, and a colour role."""

    glyph: str
    word: str
    role: str

    def __str__(self) -> str:
        return f"{self.glyph} {self.word}" if self.glyph else self.word


# deliveries.outcome and the bank's events (Processed, Replayed, InProgress, Rejected, Declined).
PROCESSED = Label("$", "processed", "fresh")
REPLAYED = Label("↺", "replayed", "replay")
IN_PROGRESS = Label("⧖", "in progress", "busy")
REJECTED = Label("✗", "rejected", "refused")
DECLINED = Label("✗", "declined", "refused")
LOST = Label("✕", "lost", "lost")
UNKNOWN = Label("?", "unknown", "busy")
EXPIRED = Label("⧗", "key expired", "busy")  # narrow: an emoji hourglass is two cells wide
DELIVERY: dict[str, Label] = {
    "processed": PROCESSED,
    "replayed": REPLAYED,
    "in_progress": IN_PROGRESS,
    "rejected": REJECTED,
    "declined": DECLINED,
}


def delivery(outcome: str) -> Label:
    """One row of the deliveries table, as stored."""
    return DELIVERY.get(outcome, Label("·", outcome.replace("_", " "), ""))


# A reply's status (approved | declined | in_progress | rejected) and its replayed flag.
FRESH = Label("✓", "fresh", "fresh")
REPLAY = Label("↺", "replay", "replay")
BUSY = Label("⧖", "busy", "busy")
READ = Label("=", "read", "read")
READS = ("balance", "status")


def reply(status: str, replayed: bool, op: str = "withdraw") -> Label:
    """The bank's answer as the wire carries it: the status it states, and whether it is a replay."""
    if op in READS:
        return READ
    if replayed:
        return REPLAY
    if status == "approved":
        return FRESH
    if status == "in_progress":
        return BUSY
    if status == "rejected":
        return REJECTED
    if status == "declined":
        return DECLINED
    return Label("·", status.replace("_", " ") or "answer", "")


def receipt_reply(status: str, replayed: bool) -> tuple[Label, str]:
    """The receipt's `reply:` line: the label and what it means in words."""
    label = REPLAYED if replayed else reply(status, replayed)
    if replayed:
        stored = {"approved": "approved", "declined": "declined"}.get(status, status.replace("_", " "))
        return label, f" (the stored answer: {stored})"
    if status == "rejected":
        return label, " (422: this id was used for another request)"
    if status == "declined":
        return label, " (insufficient funds; nothing debited)"
    return label, ""


def belief(status: str, replayed: bool) -> str:
    """What the ATM believes about one attempt once its reply arrived."""
    label = reply(status, replayed)
    if status == "in_progress":
        return f"answered {label}: the bank is still on it"
    if status == "rejected":
        return f"answered {label}: id used for another request"
    if status == "declined":
        return f"answered {label}" + (" (stored answer)" if replayed else "")
    return f"answered {label}"


# What the ATM finally knows (Finished.outcome), for the diagram's note on the ATM lane.
FINISHED: dict[str, Label] = {
    "dispensed": Label("✓", "dispensed", "fresh"),
    "charged": Label("✓", "charged", "fresh"),
    "created": Label("✓", "created", "fresh"),
    "counted": Label("✓", "counted", "fresh"),
    "declined": DECLINED,
    "rejected": REJECTED,
    "unknown": UNKNOWN,
}


def finished(outcome: str) -> Label:
    return FINISHED.get(outcome, Label("·", outcome, ""))


# An answer to a status query: the bank's record, never a promise of cash.
def status_answer(body: str) -> tuple[str, int, int]:
    """(status, debits, rupees debited) from a status query's JSON body."""
    data = load(body)
    debits = data.get("debits")
    debited = data.get("debited")
    return (
        str(data.get("status", "")),
        debits if isinstance(debits, int) else 0,
        debited if isinstance(debited, int) else 0,
    )


def status_words(status: str, done: str = "debited") -> str:
    """A status query's answer in words; `done` is the story's effect (debited, charged, ...)."""
    return {
        "approved": f"{done} (approved)",
        "declined": "declined",
        "not_found": "never processed",
        "in_progress": "still in progress",
        "rejected": "rejected",
    }.get(status, status.replace("_", " "))


def load(body: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def key_line(
    key: str, deliveries: int, status: str, debits: int, hits: int, *, effect: str = "debited"
) -> str:
    """One idempotency key as the bank pane lists it. `hits` counts the first processing too,
    so the replays are hits - 1; the line says replays, which is what a class reads."""
    word = "deliveries" if deliveries != 1 else "delivery"
    if status == "declined":
        done = "declined once"
    elif status == "rejected":
        done = "rejected"
    elif debits == 1:
        done = "processed once"
    elif debits == 0:
        done = f"{status.replace('_', ' ')}, nothing {effect}"
    else:
        done = f"{effect} {times(debits)}"
    replays = max(0, hits - 1)
    return f"{key}: {deliveries} {word}, {done}, {replays} replay{'s' if replays != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Story:
    """One story's own words for who sends and what the bank's effect is (a shop charges a card,
    a booth casts a ballot): the panes say `the shop` and `charge` in a payment, never `cash`."""

    client: str  # who sends and retries: "the ATM", "the shop", "the booth"
    effect: str  # the bank's effect as a noun: "debit", "charge", "order", "ballot"
    does: str  # the bank does it: "debits", "charges", "creates the order", "counts the ballot"
    nothing: str  # after a replay: "debits nothing"
    no_effect: str  # the replay row: "no debit"
    asked: str  # what the client cannot know: "whether the bank debited"
    goods: str  # what the customer is handed on success: "cash"
    done: str = "debited"  # the effect in the past: "debited", "charged", "created", "counted"

    @property
    def none(self) -> str:
        """What a refusal leaves the customer with: "no cash", "no charge", ..."""
        nothing = {"debit": "no cash", "charge": "no charge", "order": "no order", "ballot": "no vote"}
        return nothing[self.effect]

    @property
    def title(self) -> str:
        """The client's pane title: ATM, Shop, Booth."""
        name = self.client.removeprefix("the ")
        return name if name.isupper() else name.capitalize()


STORIES: dict[str, Story] = {
    "withdraw": Story("the ATM", "debit", "debits", "debits nothing", "no debit",
                      "whether the bank debited", "cash", "debited"),
    "payment": Story("the shop", "charge", "charges", "charges nothing", "no second charge",
                     "whether the card was charged", "the goods", "charged"),
    "order": Story("the shop", "order", "creates the order", "creates no second order",
                   "no second order", "whether the order was created", "an order number", "created"),
    "vote": Story("the booth", "ballot", "counts the ballot", "counts nothing again",
                  "not counted again", "whether the ballot was counted", "a receipt", "counted"),
}


def story(op: str) -> Story:
    """The words of the story `op` belongs to (a read or an unknown op: the ATM's)."""
    return STORIES.get(op, STORIES["withdraw"])
