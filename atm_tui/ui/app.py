"""The Textual app: one Session, a screen per mode, and the Session's changes turned into redraws."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from atm_tui.ui.core.pacer import FakeClock
from atm_tui.ui.core.served import ServedBank
from atm_tui.ui.core.session import Change, PipeModel, Session
from atm_tui.ui.core.session_events import AUTOPLAY, KEY, MODE, NOTICE, RUNNER
from atm_tui.ui.core.settings import Settings
from atm_tui.ui.messages import SessionChanged
from atm_tui.ui.screens.atm import AtmScenarioScreen, AtmScreen
from atm_tui.ui.screens.panes import PanesScreen, teardown_safe
from atm_tui.ui.textual_private import QueriesTheShownScreen
from atm_tui.ui.themes import THEMES

if TYPE_CHECKING:
    from textual.command import Provider

    from atm_tui.sim.atm.engine import Engine
    from atm_tui.sim.pipeline.pipeline import Pipeline
    from atm_tui.ui.core.presenter import Presenter
    from atm_tui.ui.models.view import View

__all__ = ["AtmApp", "FakeClock", "Settings"]

FRAME_RATE = 20  # redraws a second from engine bursts (keys redraw at once)
NOTICES_KEPT = 50


def _commands() -> type[Provider]:
    # Loaded when the palette first opens, not at start-up.
    from atm_tui.ui.commands import AtmCommands

    return AtmCommands


def _scenario_commands() -> type[Provider]:
    from atm_tui.ui.commands import ScenarioCommands

    return ScenarioCommands


def _pipeline_model(t0: int) -> PipeModel:
    # The pipeline's modules load on the first `p` (or a pipeline scenario), not at start-up.
    from atm_tui.ui.models.pipeline_model import PipelineModel

    return PipelineModel(t0)


def _pipeline_screen(session: Session) -> Screen[Any]:
    from atm_tui.ui.screens.pipeline import PipelineScreen

    return PipelineScreen(session)


def _pipeline_scenario_screen(session: Session) -> Screen[Any]:
    from atm_tui.ui.screens.pipeline import PipelineScenarioScreen

    return PipelineScenarioScreen(session)


class AtmApp(QueriesTheShownScreen[int]):
    """Three panes (ATM, network, bank) over one Session; the UI renders and never decides."""

    CSS_PATH = "app.tcss"
    TITLE = "atm-tui"
    COMMANDS = App.COMMANDS | {_commands, _scenario_commands}
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (80, "-narrow"), (100, "-medium"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-low"), (24, "-short"), (30, "-tall")]
    ENABLE_COMMAND_PALETTE = True
    DEFAULT_MODE = "atm"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = settings.theme
        self.session = Session(settings, self._heard, _pipeline_model)
        self.served = ServedBank(self.session)
        session = self.session
        # One screen per mode; the pipeline's screens (and modules) load on first use.
        self.add_mode("atm", lambda: AtmScreen(session))
        self.add_mode("atm-scenario", lambda: AtmScenarioScreen(session))
        self.add_mode("pipeline", lambda: _pipeline_screen(session))
        self.add_mode("pipeline-scenario", lambda: _pipeline_scenario_screen(session))
        self.frames = 0
        self.notices: deque[str] = deque(maxlen=NOTICES_KEPT)
        self.worker_errors = 0
        self._mounted = False
        self._last_render = 0.0
        self._render_scheduled = False
        self._key_render = False
        self._engine_dirty = False
        if settings.no_animation:
            self.animation_level = "none"

    # -- what tests, frames and the palette read (the Session's, under the old names) -------------
    @property
    def engine(self) -> Engine | None:
        return self.session.engine

    @property
    def view(self) -> View:
        return self.session.view

    @property
    def pipeline(self) -> Pipeline | None:
        return self.session.pipeline

    @property
    def shown_pipeline(self) -> Pipeline | None:
        return self.session.shown_pipeline

    @property
    def pipe_model(self) -> Any:
        return self.session.pipe_model

    @property
    def pipeline_mode(self) -> bool:
        return self.session.pipeline_mode

    @property
    def presenter(self) -> Presenter | None:
        return self.session.presenter

    @property
    def paused(self) -> bool:
        return self.session.pacer.paused

    @property
    def amount(self) -> int:
        return self.session.amount

    @property
    def store_failures(self) -> int:
        return self.session.store_failures

    @property
    def bank_reads(self) -> int:
        return self.session.reader.reads

    @property
    def error(self) -> str:
        return self.session.error

    @property
    def db_label(self) -> str:
        return self.session.db_label

    @property
    def panes(self) -> PanesScreen | None:
        """The mode's screen (under any modal on top of it)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PanesScreen):
                return screen
        return None

    def query_root(self) -> DOMNode | None:
        # app.query_one means the mode's screen shown now (Textual's default is the first screen
        # composed, which with one screen per mode would be the ATM screen forever).
        return self.panes

    # -- lifecycle -------------------------------------------------------------------------------
    async def on_load(self) -> None:
        # Open SQLite and read the bank before the first paint, so the first frame is complete.
        await self.session.open()

    async def on_mount(self) -> None:
        self._mounted = True
        self._sync_mode()
        if self.error:
            from atm_tui.ui.screens.modals import ErrorScreen

            self.push_screen(ErrorScreen(self.error))
        self.session.pacer.restart()
        self.set_interval(self.settings.tick, self.pace, name="pace")
        if self.settings.serve is not None and self.engine is not None:
            await self.served.start(*self.settings.serve)

    async def on_unmount(self) -> None:
        await self.served.stop()
        await self.session.close()

    async def pace(self) -> None:
        """The clock's tick: move the shown runner on, then redraw the top bar."""
        await self.session.pace()
        panes = self.panes
        if panes is not None:
            panes.draw_top(self.session.shown)

    async def settle(self, seconds: float) -> None:
        """Tests: pretend `seconds` of wall time passed, run what falls due, and wait for the reads."""
        clock = self.settings.wall
        if isinstance(clock, FakeClock):
            clock.advance(seconds)
        await self.pace()
        await self.workers.wait_for_complete()
        await self.session.settled()
        if self._engine_dirty or self._render_scheduled or self._key_render:
            self._render_now()

    # -- the Session's changes -------------------------------------------------------------------
    def _heard(self, change: Change) -> None:
        # One kind of message for every change. A burst from the engine posts one (the flag, and
        # can_replace), and a key's change one per key, drawn right after its action has finished.
        if change.kind == RUNNER:
            if self._engine_dirty:
                return
            self._engine_dirty = True
        elif change.kind == KEY:
            if self._key_render:
                return
            self._key_render = True
        self.post_message(SessionChanged(change))

    @on(SessionChanged)
    def _session_changed(self, message: SessionChanged) -> None:
        change = message.change
        if change.kind == NOTICE and change.notice is not None:
            notice = change.notice
            severity: SeverityLevel = "error" if notice.severity == "error" else (
                "warning" if notice.severity == "warning" else "information"
            )
            self.notify(notice.message, title=notice.title, severity=severity, timeout=notice.timeout)
        elif change.kind == MODE:
            self._sync_mode()
        elif change.kind == AUTOPLAY:
            self._autoplay()
        elif change.kind == RUNNER:
            self._engine_changed()
        elif change.kind == KEY:
            if self._key_render:
                self._render_now()
        else:
            panes = self.panes
            if panes is not None and self._mounted:
                panes.show(change)

    def _autoplay(self) -> None:
        presenter = self.presenter
        if presenter is not None and presenter.player.done:
            self.exit(0)  # --exit-at-end: the last step has had its hold
        else:
            self.next_step()

    def _engine_changed(self) -> None:
        # Bursts from the engine redraw at most FRAME_RATE times a second, leaving the loop free
        # for keys; the counters stay exact because they are read at drawing time.
        wait = self._last_render + 1 / FRAME_RATE - time.perf_counter()
        if wait > 0:
            if not self._render_scheduled:
                self._render_scheduled = True
                self.set_timer(wait, self._render_now)
            return
        self._render_now()

    def _render_now(self) -> None:
        self._key_render = False
        self._render_scheduled = False
        self._engine_dirty = False
        self._last_render = time.perf_counter()
        panes = self.panes
        if panes is not None and self._mounted:
            self.frames += 1
            panes.draw(self.session.shown)

    def redraw(self) -> None:
        """Draw the shown screen now, from the Session as it stands (the export's frames)."""
        self._render_now()

    def _sync_mode(self) -> None:
        """Show the screen of what runs now: the ATM or the pipeline, live or a scenario."""
        if not self._mounted:
            return
        s = self.session
        mode = "pipeline" if s.pipeline_mode else "atm"
        if s.presenter is not None:
            mode += "-scenario"
        if mode == self.current_mode:
            return  # the screen shown draws itself on mount and on the Session's events
        with teardown_safe():
            self.switch_mode(mode)
            panes = self.panes
            if panes is not None:
                panes.draw(self.session.shown)

    # -- work in the background ------------------------------------------------------------------
    def next_step(self) -> None:
        self.run_worker(self.session.scenarios.next_step(), group="presenter", exit_on_error=False)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        # Every worker's failure is shown here, once, instead of vanishing with the worker.
        if event.state == WorkerState.ERROR:
            self.worker_errors += 1
            error = event.worker.error
            self.notify(f"{event.worker.name or 'a background task'} failed: {error}",
                        title="internal error", severity="error", timeout=12)

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information",
        timeout: float | None = None, markup: bool = True,
    ) -> None:
        # Kept as said (the last NOTICES_KEPT), so a test or a recording can read what the screen told.
        self.notices.append(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_system_commands(self, screen: Screen[Any]) -> list[SystemCommand]:
        # Our own provider lists every key (Quit too); keep Textual's theme and keys entries beside it.
        return [c for c in super().get_system_commands(screen) if c.title in ("Theme", "Keys")]
