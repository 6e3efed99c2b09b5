"""The pipeline screen: a payment log, its producer and consumer, and the bank they charge."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen

from atm_tui.ui.core.session import BURST, CONSUMER_CYCLE
from atm_tui.ui.core.shown import Shown
from atm_tui.ui.models.pipeline_model import PipelineModel
from atm_tui.ui.screens import atm
from atm_tui.ui.screens.bindings import (
    CLASS_VIEW,
    FASTER,
    HELP,
    PAUSE,
    PIPELINE,
    PRESENTER_KEYS,
    QUIT,
    SHOT,
    SLOWER,
    THEME,
    key,
)
from atm_tui.ui.screens.panes import PanesScreen
from atm_tui.ui.widgets.pipeline_view import PipelinePanel, PipelineToggles

if TYPE_CHECKING:
    pass


PRODUCE = key("w", "produce", "produce", "Pipeline: the payment service produces one Rs 500 charge message",
              "Pipeline: produce one charge")  # fmt: skip
LOSE_ACK = key("h", "lose_ack", "lose ack", "Pipeline: the broker's next ack is lost (the producer resends)",
               "Pipeline: lose the next ack")  # fmt: skip
CONSUMER_MODE = key("i", "consumer_mode", "consumer",
                    "Pipeline: consumer mode naive → idempotent → transactional",
                    "Pipeline: next consumer mode")  # fmt: skip
PRODUCER_IDEMPOTENCE = key("I", "producer_idempotence", "producer",
                           "Pipeline: restart the producer with idempotence on or off",
                           "Pipeline: producer idempotence, on or off")  # fmt: skip
CRASH_CONSUMER = key("k", "crash_consumer", "kill",
                     "Pipeline: crash the consumer now; a new one reads from the commit",
                     "Pipeline: crash the consumer now")  # fmt: skip
CRASH_BEFORE_COMMIT = key("K", "crash_before_commit", "crash@commit",
                          "Pipeline: crash after the next charge, before its commit",
                          "Pipeline: crash before the next commit")  # fmt: skip
BURST_KEY = key("S", "burst", "burst", "Pipeline: the payment service produces 20 messages",
                "Pipeline: produce 20 messages")  # fmt: skip
# The ATM's keys whose letters the pipeline does not reuse: listed here, off, each saying where it works.
ATM_KEYS_OFF_HERE: tuple[BindingType, ...] = (
    atm.AMOUNT, atm.BALANCE, atm.STATUS, atm.RETRY, atm.DROP_REQUEST, atm.DUPLICATE, atm.DROP_ALL,
    atm.AUTO_RETRY, atm.COMPARE, atm.CRASH_GAP,
)  # fmt: skip


class PipelineScreen(PanesScreen):
    """The live log pipeline on the bank's file (`p`): the producer's, broker's and consumer's keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ATM_KEYS_OFF_HERE, PIPELINE, CLASS_VIEW, PRODUCE, LOSE_ACK, CONSUMER_MODE, PRODUCER_IDEMPOTENCE,
        CRASH_CONSUMER, CRASH_BEFORE_COMMIT, BURST_KEY, PAUSE, FASTER, SLOWER, atm.RESET, THEME, HELP, SHOT,
        QUIT,
    ]  # fmt: skip
    EXTRA_ACTIONS: ClassVar[tuple[str, ...]] = ("consumer",)  # the palette's consumer('naive') and so on
    NETWORK_TITLE = "Pipeline: payments log → consumer → bank"
    PIPELINE_VIEW = True

    def network_body(self) -> ComposeResult:
        with Vertical(id="pipeline"):
            yield PipelineToggles(self.key_names(), id="pipe-toggles")
            yield PipelinePanel(id="pipe-panel")

    def clock_text(self, shown: Shown) -> str:
        return shown.pipeline_clock

    def caption_text(self, shown: Shown) -> str:
        model = shown.pipe_model
        return model.caption if model is not None else ""

    def draw_panes(self, shown: Shown) -> None:
        state = shown.pipeline  # the pipeline's state as plain data, never the pipeline itself
        self.query_one(PipelineToggles).state = state
        panel = self.query_one(PipelinePanel)
        if isinstance(shown.pipe_model, PipelineModel):
            panel.model = shown.pipe_model
        panel.state = state

    # -- keys ------------------------------------------------------------------------------------
    def live_state(self, action: str) -> bool | None:
        return None if self.why_off(action) else True

    def why_off(self, action: str) -> str:
        s = self.session
        if s.engine is None:
            return "the bank's file could not be opened"
        if action == "pipeline":
            return "the pipeline is still opening" if s.live_pipeline.opening else ""
        if action in {b.action for b in ATM_KEYS_OFF_HERE if isinstance(b, Binding)} | {"reset"}:
            return "it is a key of the ATM view; p goes back to it"
        if s.pipeline is None:
            # Typed ahead: runs once it is open.
            return "" if s.live_pipeline.opening else "the pipeline is not open"
        if action == "crash_consumer" and not s.pipeline.consumer_up:
            return "the consumer is down already; a new one starts from the last commit"
        return ""

    # -- the pipeline's actions ---------------------------------------------------------------------
    def action_produce(self) -> None:
        self.session.live_pipeline.produce(1)

    def action_burst(self) -> None:
        self.session.live_pipeline.produce(BURST)

    def action_lose_ack(self) -> None:
        self.session.live_pipeline.lose_next_acks(1)

    def action_crash_consumer(self) -> None:
        self.session.live_pipeline.crash_consumer()

    def action_crash_before_commit(self) -> None:
        self.session.live_pipeline.crash_before_next_commits(1)

    def action_consumer_mode(self) -> None:
        self.session.live_pipeline.cycle_consumer()

    def action_consumer(self, mode: str) -> None:
        if mode in CONSUMER_CYCLE:
            self.session.live_pipeline.set_consumer(mode)  # type: ignore[arg-type]

    def action_producer_idempotence(self) -> None:
        self.session.live_pipeline.toggle_producer_idempotence()


class PipelineScenarioScreen(PipelineScreen, inherit_bindings=False):
    """A pipeline scenario: the pipeline view under the caption bar; only the presenter's keys are live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *Screen.BINDINGS, *PRESENTER_KEYS, FASTER, SLOWER, THEME, HELP, SHOT, QUIT,
    ]  # fmt: skip
    LIVE_KEYS: ClassVar[list[BindingType]] = PipelineScreen.BINDINGS  # refused here, each saying why
    LIVE_STATE = False  # the live pipeline's keys are not keys of a scenario at all
    SCENARIO = True
