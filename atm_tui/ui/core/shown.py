"""What the screens draw: the Session's models and the few plain facts beside them, read at drawing time.

Textual-free. Every change the Session tells the app carries one `Shown` (session_events.Change);
the app hands it to the screen, and the screen gives each widget its part of it: the widgets never
see the Session, the engine or a pipeline object. The properties read the Session when a frame is
drawn, not when the change happened, so a burst of a hundred events costs one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atm_tui.sim.atm.engine import EngineState
    from atm_tui.sim.pipeline.pipeline import PipelineView
    from atm_tui.ui.core.session import Session
    from atm_tui.ui.core.session_events import PipeModel, Snapshot
    from atm_tui.ui.models.view import View


@dataclass(frozen=True, slots=True)
class PresenterLine:
    """The scenario's caption bar: its title, step counter, caption, state and keys."""

    title: str
    counter: str
    caption: str
    state: str
    keys: str
    words: str
    with_caption: bool


class Shown:
    """The models of the Session, as the screens and their widgets draw them."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- the ATM ---------------------------------------------------------------------------------
    @property
    def view(self) -> View:
        return self._session.view

    @property
    def clock(self) -> str:
        """The ATM's virtual time on the top bar ("" while no engine runs)."""
        s = self._session
        return f"  t {(s.engine.now - s.t0) / 1000:.1f} s" if s.engine is not None else ""

    @property
    def t0(self) -> int:
        return self._session.t0

    @property
    def toggles(self) -> EngineState | None:
        """The engine's switches and armed faults (None while no engine runs)."""
        engine = self._session.engine
        return engine.state() if engine is not None else None

    @property
    def compare(self) -> bool:
        engine = self._session.engine
        return engine is not None and engine.compare

    @property
    def amount(self) -> int:
        return self._session.amount

    @property
    def target(self) -> str | None:
        return self._session.target

    @property
    def store_failures(self) -> int:
        return self._session.store_failures

    # -- the pipeline ----------------------------------------------------------------------------
    @property
    def pipe_model(self) -> PipeModel | None:
        return self._session.pipe_model

    @property
    def pipeline(self) -> PipelineView | None:
        """The shown pipeline's log, consumer and producer (None while it opens)."""
        pipeline = self._session.shown_pipeline
        return pipeline.view() if pipeline is not None else None

    @property
    def pipeline_clock(self) -> str:
        pipeline, model = self._session.shown_pipeline, self._session.pipe_model
        if pipeline is None or model is None:
            return ""
        return f"  pipeline t {(pipeline.now - model.t0) / 1000:.1f} s"

    # -- the bank, the clock, the scenario ---------------------------------------------------------
    @property
    def snapshots(self) -> list[Snapshot]:
        return self._session.snapshots

    @property
    def snapshot_count(self) -> int:
        return self._session.snapshot_count

    @property
    def opening_asked(self) -> int | None:
        """--opening-balance as asked, when it may differ from the file's (a kept file, no scenario)."""
        s = self._session.settings
        if s.fresh or s.scenario or s.player:
            return None
        return s.opening_balance

    @property
    def paused(self) -> bool:
        return self._session.pacer.paused

    @property
    def speed(self) -> float:
        return self._session.pacer.speed

    @property
    def presenter(self) -> PresenterLine | None:
        p = self._session.presenter
        if p is None:
            return None
        return PresenterLine(
            p.scenario.title, p.counter, p.caption, p.state, p.keys, p.words,
            self._session.settings.captions_in_frame,
        )  # fmt: skip
