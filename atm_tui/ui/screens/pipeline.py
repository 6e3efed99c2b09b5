"""The pipeline screen: a payment log, its producer and consumer, and the bank they charge."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen

from atm_tui.ui.core.session import BURST, CONSUMER_CYCLE, Session
from atm_tui.ui.screens.bindings import ATM_ACTIONS, PIPELINE_ACTIONS, PIPELINE_SCREEN_KEYS, SCENARIO_KEYS
from atm_tui.ui.screens.panes import PanesScreen
from atm_tui.ui.widgets.pipeline_view import PipelinePanel, PipelineToggles

if TYPE_CHECKING:
    from atm_tui.sim.pipeline import Pipeline


class PipelineScreen(PanesScreen):
    """The live log pipeline on the bank's file (`p`): the producer's, broker's and consumer's keys."""

    BINDINGS: ClassVar[list[BindingType]] = list(PIPELINE_SCREEN_KEYS)
    BAR: ClassVar[list[Binding]] = PIPELINE_SCREEN_KEYS
    NETWORK_TITLE = "Pipeline: payments log → consumer → bank"
    PIPELINE_VIEW = True

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._toggle_rows = 0

    def network_body(self) -> ComposeResult:
        with Vertical(id="pipeline"):
            yield PipelineToggles(id="pipe-toggles")
            yield PipelinePanel(id="pipe-panel")

    def clock_text(self) -> str:
        pipeline, model = self.session.shown_pipeline, self.session.pipe_model
        if pipeline is None or model is None:
            return ""
        return f"  pipeline t {(pipeline.now - model.t0) / 1000:.1f} s"

    def caption_text(self) -> str:
        model = self.session.pipe_model
        return model.caption if model is not None else ""

    def draw_panes(self) -> None:
        pipeline = self.session.shown_pipeline
        toggles, panel = self.query_one(PipelineToggles), self.query_one(PipelinePanel)
        toggles.pipeline = pipeline
        panel.pipeline = pipeline
        if self.session.pipe_model is not None:
            panel.model = self.session.pipe_model  # type: ignore[assignment]
        rows = toggles.get_content_height(self.size, self.size, toggles.size.width)
        toggles.refresh(layout=rows != self._toggle_rows)
        self._toggle_rows = rows
        panel.refresh()

    # -- keys ------------------------------------------------------------------------------------
    def live_state(self, action: str) -> bool | None:
        s = self.session
        if s.engine is None:
            return None
        if action == "pipeline":
            return None if s.pipe_opening else True
        if action in PIPELINE_ACTIONS:
            if s.pipeline is None:
                return True if s.pipe_opening else None  # typed ahead: run once it is open
            if action == "crash_consumer" and not s.pipeline.consumer_up:
                return None
            return True
        if action in ATM_ACTIONS:
            # The ATM's keys act on the ATM's view: greyed here, and not bound where the pipeline
            # reuses the letter.
            return None if any(b.action == action for b in self.BAR) else False
        return False

    # -- the pipeline's actions ---------------------------------------------------------------------
    def action_produce(self) -> None:
        self.session.on_pipeline(lambda p: p.publish(1))

    def action_burst(self) -> None:
        self.session.on_pipeline(lambda p: p.publish(BURST))

    def action_lose_ack(self) -> None:
        self.session.on_pipeline(lambda p: p.lose_next_acks(1))

    def action_crash_consumer(self) -> None:
        self.session.on_pipeline(lambda p: p.crash_consumer())

    def action_crash_before_commit(self) -> None:
        self.session.on_pipeline(lambda p: p.crash_before_next_commits(1))

    def action_consumer_mode(self) -> None:
        self.session.cycle_consumer()

    def action_consumer(self, mode: str) -> None:
        if mode in CONSUMER_CYCLE:
            self.session.set_consumer(mode)  # type: ignore[arg-type]

    def action_producer_idempotence(self) -> None:
        # Kafka reads enable.idempotence when the producer starts, so the service restarts with it.
        def restart(p: Pipeline) -> None:
            p.set_producer_idempotent(not p.config.producer_idempotent)
            p.restart_producer()

        self.session.on_pipeline(restart)


class PipelineScenarioScreen(PipelineScreen, inherit_bindings=False):
    """A pipeline scenario: the pipeline view under the caption bar; only the presenter's keys are live."""

    BINDINGS: ClassVar[list[BindingType]] = [*Screen.BINDINGS, *SCENARIO_KEYS]
    BAR: ClassVar[list[Binding]] = [b for b in SCENARIO_KEYS if b.show]
    SCENARIO = True
