"""The keys contract: every key, its action, its footer label and its tooltip, in one table."""

from __future__ import annotations

from textual.binding import Binding

# (key, action, footer label, tooltip). Scripts and recordings rely on the keys; each binding's id
# is "atm-tui.<action>" so a user can remap it with a Textual keymap.
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("w", "withdraw", "withdraw", "Withdraw the current amount (Rs 5,000 unless m changed it)"),
    ("m", "amount", "amount", "Choose the amount: presets, or type one (multiples of Rs 100)"),
    ("b", "balance", "balance", "Balance inquiry: a read, safe to repeat, needs no key"),
    ("s", "status", "status", "Ask the bank what became of the last transaction, by its id"),
    ("r", "retry", "retry", "Resend the last transaction now, same id and same body"),
    ("h", "drop_reply", "drop reply", "Hiccup: the network loses the next reply"),
    ("H", "drop_request", "drop req", "The network loses the next request"),
    ("u", "duplicate", "dup", "The network delivers the next request twice"),
    ("d", "drop_all", "drop all", "Drop every reply until pressed again"),
    ("a", "auto_retry", "auto-retry", "Turn the ATM's automatic retries on or off"),
    ("i", "idempotency", "idempotency", "Idempotent bank, or naive (debits every delivery)"),
    ("c", "compare", "compare", "Show a naive twin bank fed the very same deliveries"),
    ("x", "crash_gap", "crash gap", "Crash the bank between debit and key (split mode)"),
    ("p", "pipeline", "pipeline", "Pipeline view: a payment log and its consumer instead of the diagram"),
    # Pipeline mode: w, h, i and S take these meanings; the ATM's are hidden meanwhile.
    ("w", "produce", "produce", "Pipeline: the payment service produces one Rs 500 charge message"),
    ("h", "lose_ack", "lose ack", "Pipeline: the broker's next ack is lost (the producer resends)"),
    ("i", "consumer_mode", "consumer", "Pipeline: consumer mode naive → idempotent → transactional"),
    ("I", "producer_idempotence", "producer", "Pipeline: restart the producer with idempotence on or off"),
    ("k", "crash_consumer", "kill", "Pipeline: crash the consumer now; a new one reads from the commit"),
    ("K", "crash_before_commit", "crash@commit", "Pipeline: crash after the next charge, before its commit"),
    ("S", "burst", "burst", "Pipeline: the payment service produces 20 messages"),
    ("space", "pause", "pause", "Pause or resume the clock"),
    ("plus", "faster", "faster", "Speed up (up to 4x)"),
    ("minus", "slower", "slower", "Slow down (down to 0.25x)"),
    ("S", "storm", "storm", "Storm: 100 withdrawals of Rs 100 at once with 30% network faults"),
    ("ctrl+r", "reset", "reset", "Reset the bank to its opening balance (asks first)"),
    ("t", "projector", "theme", "Switch to or from the high-contrast projector theme"),
    ("question_mark", "help", "help", "Every key and what it shows"),
    ("ctrl+s", "screenshot", "shot", "Save an SVG screenshot and show its path"),
    ("q", "quit", "quit", "Quit atm-tui"),
)

_SHOWN = {"plus": "+", "minus": "-", "question_mark": "?", "ctrl+r": "^r", "ctrl+s": "^s"}

KEYS: list[Binding] = [
    Binding(key, action, label, key_display=_SHOWN.get(key, key), id=f"atm-tui.{action}", tooltip=tip,
            priority=key == "ctrl+s")
    for key, action, label, tip in _TABLE
]
