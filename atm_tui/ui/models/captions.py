"""The captions of the key presses and settings: what a `Control` event means, in one line.

Textual-free. The engine records every key press and setting as a `Control` event; `control`
turns it into the caption (and the few settings later words need), so a live screen, a replayed
trace and an export frame say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from atm_tui.sim.events import START_CONTROL, Control

if TYPE_CHECKING:
    from atm_tui.ui.models.view import View

# A key named in a model's words: ‹retry› is the key bound to the action "retry". The models name
# actions, never letters; the screen drawing the words puts in its own binding's key (name_keys),
# so a key is written in one place, its Binding.
KEY_MARK = re.compile(r"‹([a-z_]+)›")


def name_keys(text: str, keys: Mapping[str, str]) -> str:
    """`text` with each marked action (‹retry›) replaced by the key that `keys` (action -> key, as the key bar
    writes it) binds to it; an action without a key keeps its name."""
    return KEY_MARK.sub(lambda m: keys.get(m.group(1), m.group(1)), text)


def cause_words(cause: str) -> str:
    """Why a message was lost, in a caption's words."""
    return {
        "forced": "a hiccup you injected",
        "drop-all": "every reply is being dropped",
        "random": "random loss",
        "bank-down": "the bank is down",
    }.get(cause, cause)


CONTROL_CAPTIONS = {
    "mode": "The bank is now {value}.",
    "crash_in_gap": (
        "Crash armed: in split mode the bank will die after its next debit, before storing the key."
    ),
    "balance": "Balance inquiry sent: a read, safe to repeat.",
}
# The pipeline view's control events (its model formats them the same way).
PIPELINE_CONTROL_CAPTIONS = {
    "lose_next_acks": "Hiccup armed: the broker's next acknowledgement will be lost.",
    "crash_before_next_commits": (
        "Hiccup armed: the consumer will crash after its next charge, before the commit."
    ),
    "crash_consumer": "The consumer is killed now.",
    "consumer": "Consumer mode: {value}.",
    "producer_idempotent": "Producer idempotence: {value} (the payment service restarts to apply it).",
    "restart_producer": (
        "The payment service restarts as an idempotent producer with a new epoch: the broker"
        " refuses the old instance's sends (fenced)."
    ),
}
# Switches: the engine records str(bool); the caption says what on and off mean.
SWITCH_CAPTIONS = {
    "drop_all_replies": (
        "Every reply is dropped from now on: the bank still acts, the ATM hears nothing back.",
        "Replies get through again.",
    ),
    "auto_retry": (
        "Automatic retry on: after a timeout the ATM resends the same id by itself.",
        "Automatic retry off: after a timeout the ATM gives up; press ‹retry› to resend the same id by hand.",
    ),
    "compare": (
        "Compare mode on: a naive twin bank beside the real one gets the very same deliveries.",
        "Compare mode off: the real bank alone is shown.",
    ),
}


def control(view: View, ev: Control) -> None:
    if ev.name.startswith(START_CONTROL):
        # The scenario's starting state, from the trace: no caption, only what later words need.
        setting = ev.name.removeprefix(START_CONTROL)
        if setting == "mode":
            view.bank_mode = ev.value
        elif setting == "ttl":
            view.ttl = int(ev.value)
        elif setting == "wire":
            view.http = ev.value == "http"
        elif setting == "account":
            view.account = ev.value
        return
    if ev.name == "compare":
        view.show_twin = ev.value == "True"  # from the trace: forward and a rebuilt view agree
    if ev.name == "mode":
        view.bank_mode = ev.value
    if ev.name == "ttl":
        view.ttl = int(ev.value)
        view.caption = (
            f"Keys are now kept {int(ev.value) / 1000:g} s: a retry later than that is treated as new."
        )
        return
    if ev.name in view.armed:
        view.armed[ev.name] += int(ev.value)
        n = view.armed[ev.name]
        what = {
            "drop_next_replies": ("lose", "reply", "replies"),
            "drop_next_requests": ("lose", "request", "requests"),
            "duplicate_next_requests": ("deliver twice", "request", "requests"),
        }[ev.name]
        verb, one, many = what
        view.caption = (
            f"Hiccup armed: the network will {verb} the next {one}."
            if n == 1
            else f"Hiccup armed: the network will {verb} each of the next {n} {many}."
        )
        return
    switch = SWITCH_CAPTIONS.get(ev.name)
    if switch is not None:
        view.caption = switch[0] if ev.value == "True" else switch[1]
        return
    text = CONTROL_CAPTIONS.get(ev.name)
    if text is not None:
        view.caption = text.format(value=ev.value)
