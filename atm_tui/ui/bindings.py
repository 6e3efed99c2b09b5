"""The keys contract: every key, its action, its footer label and its tooltip, in one table."""

from __future__ import annotations

from textual.binding import Binding

# (key, action, footer label, tooltip). Scripts and recordings rely on the keys; each binding's id
# is "atm-tui.<action>" so a user can remap it with a Textual keymap.
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("w", "withdraw", "withdraw", "Withdraw the current amount (Rs 5,000 unless m changed it)"),
    ("m", "amount", "amount", "Choose the amount: presets, or type one (multiples of Rs 100)"),
    ("b", "balance", "balance", "Balance inquiry: a read, safe to repeat, needs no key"),
    ("s", "status", "status", "Ask the bank what became of the picked transaction (the last unless o)"),
    ("r", "retry", "retry", "Resend the picked transaction now (the last unless o), same id and body"),
    ("o", "pick", "pick id", "Choose what s and r act on: the last transaction, or an unknown one"),
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

# Pipeline mode gives w, h, i and S a pipeline meaning; the ATM's meaning of these letters is not
# bound on the pipeline screen.
PIPELINE_ACTIONS = frozenset({
    "produce", "lose_ack", "consumer_mode", "consumer", "producer_idempotence", "crash_consumer",
    "crash_before_commit", "burst",
})  # fmt: skip
# Keys every screen has: the clock, the theme, help, a screenshot, quit, and the pipeline switch.
COMMON_ACTIONS = frozenset({
    "pipeline", "pause", "faster", "slower", "projector", "help", "screenshot", "quit",
})  # fmt: skip
ATM_ACTIONS = frozenset(b.action for b in KEYS) - PIPELINE_ACTIONS - COMMON_ACTIONS | {"mode"}
# Keys whose action would add to the story or change its settings: the scenario would no longer
# be the one on file, and going back (a replay from the seed) would not reproduce the screen.
BLOCKED = ATM_ACTIONS
# Always on, in every screen and mode.
ALWAYS = frozenset({"quit", "help", "screenshot", "projector", "command_palette"})

# Priority: a focused scroll area would otherwise take the arrows and Page Up/Down.
PRESENTER_KEYS: list[Binding] = [
    Binding("right", "next_step", "next", key_display="→", id="atm-tui.next_step",
            priority=True,
            tooltip="Scenario: next step (also n, space, Page Down); while one plays, jump to its end"),
    Binding("n", "next_step", "next", show=False, id="atm-tui.next_step.n"),
    Binding("space", "next_step", "next", show=False, id="atm-tui.next_step.space", priority=True),
    Binding("pagedown", "next_step", "next", show=False, id="atm-tui.next_step.pagedown", priority=True),
    Binding("left", "previous_step", "back", key_display="←", id="atm-tui.previous_step",
            priority=True, tooltip="Scenario: one step back (also Page Up), replayed exactly from the seed"),
    Binding("pageup", "previous_step", "back", show=False, id="atm-tui.previous_step.pageup", priority=True),
]

# A key's first binding is its ATM meaning (pipeline mode reuses w, h, i and S after it).
KEY_ACTIONS = {b.key: b.action for b in reversed(KEYS)} | {"+": "faster", "-": "slower", "?": "help"}


def keys_for(actions: frozenset[str]) -> list[Binding]:
    """The bindings of `actions`, in the table's order (the key bar's order)."""
    return [b for b in KEYS if b.action in actions]


_PIPELINE_LETTERS = {b.key for b in KEYS if b.action in PIPELINE_ACTIONS}
ATM_KEYS = keys_for(ATM_ACTIONS | COMMON_ACTIONS)
# The ATM's keys whose letter the pipeline does not reuse stay listed there, greyed.
_ATM_KEPT = {b.action for b in KEYS if b.action in ATM_ACTIONS and b.key not in _PIPELINE_LETTERS}
PIPELINE_SCREEN_KEYS = keys_for(PIPELINE_ACTIONS | COMMON_ACTIONS | _ATM_KEPT)
# A scenario: space means "next", so the pause key is not bound; the story's keys are refused.
SCENARIO_KEYS = [*PRESENTER_KEYS, *keys_for(COMMON_ACTIONS - {"pause", "pipeline"})]
