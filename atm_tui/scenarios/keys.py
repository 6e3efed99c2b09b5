"""The key a person would press for a scenario step's action: the badge of a recording, and keys.vtt.

A scenario is a recorded lecture: each action is an intent one of the app's keys also sends
(ui/bindings.py is the keys contract; a test holds this table to it). Actions no key sends (a
payment, a TTL, waiting) have no badge.
"""

from __future__ import annotations

from atm_tui.scenarios.scenario import Step

# scenario action -> (key as the key bar shows it, the app's action of that key)
ATM_KEYS: dict[str, tuple[str, str]] = {
    "withdraw": ("w", "withdraw"),
    "balance": ("b", "balance"),
    "status": ("s", "status"),
    "retry_now": ("r", "retry"),
    "drop_next_reply": ("h", "drop_reply"),
    "drop_next_request": ("H", "drop_request"),
    "duplicate_next_request": ("u", "duplicate"),
    "drop_all_replies": ("d", "drop_all"),
    "auto_retry": ("a", "auto_retry"),
    "idempotency": ("i", "idempotency"),
    "compare": ("c", "compare"),
    "crash_in_gap": ("x", "crash_gap"),
}
PIPELINE_KEYS: dict[str, tuple[str, str]] = {
    "produce": ("w", "produce"),
    "lose_next_acks": ("h", "lose_ack"),
    "set_consumer_mode": ("i", "consumer_mode"),
    "set_producer_idempotent": ("I", "producer_idempotence"),
    "crash_consumer": ("k", "crash_consumer"),
    "crash_before_next_commits": ("K", "crash_before_commit"),
}
# Toggles: one press whatever the value; counted actions: one press per count.
_COUNTED = {"drop_next_reply", "drop_next_request", "duplicate_next_request", "produce", "lose_next_acks",
            "crash_before_next_commits"}  # fmt: skip


def step_keys(step: Step, kind: str = "atm") -> tuple[str, ...]:
    """The keys of the step's actions, in order: "h ×2" for a key pressed twice; () for none."""
    table = PIPELINE_KEYS if kind == "pipeline" else ATM_KEYS
    out: list[str] = []
    for action in step.actions:
        if action.name not in table:
            continue
        key = table[action.name][0]
        if action.name == "set_producer_idempotent" and out[-1:] == [key]:
            continue  # I restarts the producer with idempotence switched: one press
        count = int(action.args.get("count", 1)) if action.name in _COUNTED else 1
        out.append(key if count == 1 else f"{key} ×{count}")
    return tuple(out)


def badge(step: Step | None, kind: str = "atm") -> str:
    """The badge text of a step ("keys h ×2, w"), or "" when no key does what the step does."""
    keys = step_keys(step, kind) if step is not None else ()
    if not keys:
        return ""
    return ("key " if len(keys) == 1 else "keys ") + ", ".join(keys)
