"""What the Session tells the app (small frozen events), and the shapes it hands over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from atm_tui.bank.service import BankSnapshot
from atm_tui.sim.events import Event


class PipeModel(Protocol):
    """The pipeline view's model (ui/pipeline_view.PipelineModel), as the Session feeds it."""

    caption: str
    bank_changed: bool
    t0: int

    def __call__(self, ev: Event) -> None: ...


@dataclass(frozen=True, slots=True)
class Changed:
    """The runner moved on; `key`: a key's intent was recorded, so redraw at once."""

    key: bool = False


@dataclass(frozen=True, slots=True)
class BankRead:
    """New snapshots of the bank (and the twin) are in `Session.snapshots`."""


@dataclass(frozen=True, slots=True)
class Notice:
    message: str
    severity: str = "information"
    title: str = ""
    timeout: float = 4


@dataclass(frozen=True, slots=True)
class ModeChanged:
    """What is shown changed: the pipeline view on or off, a scenario attached or left."""


@dataclass(frozen=True, slots=True)
class PresenterChanged:
    """The scenario's step, or its state (playing, finished), changed: redraw the caption bar."""


@dataclass(frozen=True, slots=True)
class AutoplayDue:
    """--autoplay: the shown step has been on screen long enough; play the next."""


SessionEvent = Changed | BankRead | Notice | ModeChanged | PresenterChanged | AutoplayDue
# (pane id, snapshot, the path shown, the mode shown)
Snapshot = tuple[str, BankSnapshot, str, str]
