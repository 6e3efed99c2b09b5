"""What the Session tells the app: one kind of change, carrying the models to draw it from.

Textual-free. The Session emits a `Change` for everything the app must know (the runner moved on,
a key's intent was recorded, the bank was read, what is shown changed, the scenario stepped, a
notice); the app posts it on as one Textual message (ui/messages.SessionChanged) and the screen
draws its widgets from `change.shown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol

from atm_tui.bank.service import BankSnapshot
from atm_tui.sim.events import Event

if TYPE_CHECKING:
    from atm_tui.ui.core.shown import Shown


class PipeModel(Protocol):
    """The pipeline view's model (ui/models/pipeline_model.PipelineModel), as the Session feeds it."""

    caption: str
    bank_changed: bool
    t0: int

    def __call__(self, ev: Event) -> None: ...


# What changed, so the app knows how soon to draw and what:
RUNNER: Final = "runner"  # the engine or the pipeline moved on: redrawn at most FRAME_RATE times a second
KEY: Final = "key"  # a key's intent was recorded: redrawn at once
BANKS: Final = "banks"  # new snapshots of the bank (and the twin) are in `shown.snapshots`
MODE: Final = "mode"  # what is shown changed: the pipeline view on or off, a scenario attached or left
PRESENTER: Final = "presenter"  # the scenario's step or state changed: the caption bar
AUTOPLAY: Final = "autoplay"  # --autoplay: the shown step has been on screen long enough; play the next
NOTICE: Final = "notice"  # a line for the person at the keyboard (`notice`)
Kind = Literal["runner", "key", "banks", "mode", "presenter", "autoplay", "notice"]


@dataclass(frozen=True, slots=True)
class Notice:
    message: str
    severity: str = "information"
    title: str = ""
    timeout: float = 4


@dataclass(frozen=True, slots=True)
class Change:
    """One change of the Session: what kind, and the models to draw it from."""

    kind: Kind
    shown: Shown
    notice: Notice | None = None


# (pane id, snapshot, the path shown, the mode shown)
Snapshot = tuple[str, BankSnapshot, str, str]
