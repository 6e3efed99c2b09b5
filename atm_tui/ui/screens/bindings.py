"""What a key is (a Textual Binding with the palette's title) and the keys more than one screen lists.

A key is declared once, on the screen it belongs to (`BINDINGS` of AtmScreen, PipelineScreen and
the scenario screens): its letter, action, key-bar label, tooltip and palette title. The key bar,
the help screen and the command palette read those lists; nothing else names a key. The keys
below are the ones every screen shares (the clock, the theme, help, a screenshot, quit), declared
here once so that each screen can list them in its own order.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

# How a key is written in the key bar and the help (the rest are written as they are).
SHOWN = {"plus": "+", "minus": "-", "question_mark": "?", "ctrl+r": "^r", "ctrl+s": "^s"}


@dataclass(frozen=True)
class Key(Binding):
    """A binding that also carries its command palette title (no square brackets: it is markup)."""

    title: str = ""


def key(letter: str, action: str, label: str, tooltip: str, title: str, *, priority: bool = False) -> Key:
    """One key of the contract. Its id is "atm-tui.<action>", so a Textual keymap can remap it."""
    return Key(letter, action, label, key_display=SHOWN.get(letter, letter), id=f"atm-tui.{action}",
               tooltip=tooltip, priority=priority, title=title)  # fmt: skip


PIPELINE = key("p", "pipeline", "pipeline",
               "Pipeline view: a payment log and its consumer instead of the diagram",
               "Pipeline view, on or off")  # fmt: skip
CLASS_VIEW = key("l", "class_view", "class",
                 "Class view: one lane per client of this bank, read from its tables",
                 "Class view: one lane per client")  # fmt: skip
PAUSE = key("space", "pause", "pause", "Pause or resume the clock", "Pause or resume the clock")
FASTER = key("plus", "faster", "faster", "Speed up (up to 4x)", "Speed up")
SLOWER = key("minus", "slower", "slower", "Slow down (down to 0.25x)", "Slow down")
THEME = key("t", "projector", "theme", "Switch to or from the high-contrast projector theme",
            "Projector theme, on or off")  # fmt: skip
HELP = key("question_mark", "help", "help", "Every key and what it shows", "Help: every key")
# Priority: a focused widget must not swallow the screenshot.
SHOT = key("ctrl+s", "screenshot", "shot", "Save an SVG screenshot and show its path", "Save a screenshot",
           priority=True)  # fmt: skip
QUIT = key("q", "quit", "quit", "Quit atm-tui", "Quit")

# A scenario's keys. Priority: a focused scroll area would otherwise take the arrows and Page Up/Down.
NEXT = Key("right", "next_step", "next", key_display="→", id="atm-tui.next_step", priority=True,
           tooltip="Scenario: next step (also n, space, Page Down); while one plays, jump to its end",
           title="Scenario: next step")  # fmt: skip
BACK = Key("left", "previous_step", "back", key_display="←", id="atm-tui.previous_step", priority=True,
           tooltip="Scenario: one step back (also Page Up), replayed exactly from the seed",
           title="Scenario: one step back")  # fmt: skip
PRESENTER_KEYS: list[Binding] = [
    NEXT,
    Binding("n", "next_step", "next", show=False, id="atm-tui.next_step.n"),
    Binding("space", "next_step", "next", show=False, id="atm-tui.next_step.space", priority=True),
    Binding("pagedown", "next_step", "next", show=False, id="atm-tui.next_step.pagedown", priority=True),
    BACK,
    Binding("pageup", "previous_step", "back", show=False, id="atm-tui.previous_step.pageup", priority=True),
]
# Always on, on every screen and in every mode.
ALWAYS = frozenset({
    QUIT.action, HELP.action, SHOT.action, THEME.action, CLASS_VIEW.action, "command_palette",
})  # fmt: skip


def shown_keys(bindings: object) -> list[Binding]:
    """The bindings of a BINDINGS list that the key bar and the help list (in the list's order)."""
    return [b for b in bindings if isinstance(b, Binding) and b.show] if isinstance(bindings, list) else []
