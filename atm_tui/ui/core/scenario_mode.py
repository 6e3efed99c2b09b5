"""The Session's presenter mode: a scenario's player attached to the panes, stepped by the Presenter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from atm_tui.bank.store import StoreError
from atm_tui.paths import data_dir
from atm_tui.sim.events import Event
from atm_tui.ui.core.bank_reader import BankReader
from atm_tui.ui.core.pacer import ATM, Pacer
from atm_tui.ui.core.session_events import (
    Changed,
    ModeChanged,
    Notice,
    PipeModel,
    PresenterChanged,
    SessionEvent,
)
from atm_tui.ui.core.settings import Settings
from atm_tui.ui.models.view import View

if TYPE_CHECKING:
    from atm_tui.scenarios.player import ScenarioPlayer
    from atm_tui.sim.atm.engine import Engine
    from atm_tui.sim.pipeline.pipeline import Pipeline
    from atm_tui.ui.core.presenter import Presenter


class ScenarioMode:
    """Part of Session: a scenario on its own file, instead of the live bank."""

    settings: Settings
    lock: asyncio.Lock
    pacer: Pacer
    reader: BankReader
    engine: Engine | None
    view: View
    amount: int
    t0: int
    pipeline_mode: bool
    pipe_model: PipeModel | None
    presenter: Presenter | None
    scenario_pipeline: Pipeline | None
    _scenario_unsubscribe: Callable[[], None] | None
    _pipeline_model: Callable[[int], PipeModel]

    if TYPE_CHECKING:

        @property
        def db_label(self) -> str: ...
        def _emit(self, event: SessionEvent) -> None: ...
        def _use_engine(self, engine: Engine) -> None: ...
        def _drop_subscription(self) -> None: ...
        async def _open_engine(self) -> Engine: ...
        async def _leave_pipeline(self) -> None: ...
        def _on_pipe_event(self, ev: Event) -> None: ...

    def _scenario_dir(self) -> Path:
        s = self.settings
        return Path(s.scenario_dir) if s.scenario_dir else data_dir() / "scenarios"

    async def start_scenario(self, name: str | None, player: ScenarioPlayer | None = None) -> None:
        """Open scenario `name` on its own file (or show `player`, the export's) and attach to it.

        Raises ScenarioError or StoreError with one line naming the file.
        """
        from atm_tui.bank.store import check_path
        from atm_tui.scenarios.instance import Claim, claim
        from atm_tui.scenarios.loader import load
        from atm_tui.scenarios.player import ScenarioPlayer
        from atm_tui.ui.core.presenter import Presenter

        s = self.settings
        owned = player is None
        claimed: Claim | None = None
        if player is None:
            assert name is not None
            scenario = load(name)
            folder = self._scenario_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"scenario folder {folder}: {exc.strerror or exc}") from None
            claimed = claim(folder, scenario.name)  # one file per running app: NAME.db, NAME-2.db, ...
            try:
                db = str(claimed.path)
                check_path(db)
                player = ScenarioPlayer(scenario, db, seed=s.scenario_seed, bridge="aiosqlite")
                await player.open()
            except BaseException:
                claimed.release()  # a start that failed leaves the file free for the next one
                raise
        self.presenter = Presenter(
            player, wall=s.wall, owned=owned, autoplay=s.autoplay, instant=s.no_animation,
            hold=s.hold, exit_at_end=s.exit_at_end, claim=claimed,
        )
        await self._attach()

    async def show_player(self) -> None:
        """The export moved its player on by itself: show where it stands, as a start would."""
        async with self.lock:
            presenter = self.presenter
            assert presenter is not None
            player = presenter.player
            presenter.in_step = player.playing
            presenter.shown_step = player.shown_step
            await self._attach()

    async def _attach(self) -> None:
        """Show the player's current run: replay its events into a fresh view, read the bank."""
        presenter = self.presenter
        assert presenter is not None
        player = presenter.player
        self._drop_subscription()
        self._detach_scenario_pipeline()
        engine = player.engine
        self.engine = None
        self.pipeline_mode = player.pipeline is not None
        if player.pipeline is not None:
            model = self._pipeline_model(0)  # a scenario's clock always starts at 0
            for ev in player.events:
                model(ev)
            model.bank_changed = False
            self.pipe_model = model
            self._scenario_unsubscribe = player.pipeline.subscribe(self._on_pipe_event)
            self.pacer.sync(player.pipeline.now, ATM)
            self.scenario_pipeline = player.pipeline
        elif engine is not None:
            self.amount = engine.config.amount
            self._use_engine(engine)
            self.t0 = 0  # a scenario's clock always starts at 0; back() must not shift the diagram
            view = self.view
            view.atm.detail = "The scenario drives this client: → plays the next step."
            for ev in player.events:
                view(ev)
            view.bank_changed = False
        await self.reader.read_now()
        self._emit(ModeChanged())
        self._emit(PresenterChanged())

    def _detach_scenario_pipeline(self) -> None:
        self.scenario_pipeline = None
        if self._scenario_unsubscribe is not None:
            self._scenario_unsubscribe()
            self._scenario_unsubscribe = None

    def _step_changed(self) -> None:
        self.reader.request()  # the screen at a step's end is the file at the step's end
        self._emit(PresenterChanged())

    async def next_step(self) -> None:
        """The scenario's next beat (or the end of the one playing)."""
        async with self.lock:
            presenter = self.presenter
            if presenter is None:
                return
            await presenter.next()
            runner = presenter.runner
            if runner is not None:
                self.pacer.sync(runner.now, ATM)
            # The step's actions may change what the bank pane's title says (a mode).
            self._step_changed()

    async def previous_step(self) -> None:
        """One step back, exactly: the player replays from the seed on its emptied file."""
        async with self.lock:
            presenter = self.presenter
            if presenter is None:
                return
            self.engine = None  # the bank reader stops before the file is emptied
            self._detach_scenario_pipeline()
            await self.reader.idle()
            try:
                moved = await presenter.back()
            except StoreError as exc:
                self._emit(Notice(str(exc), "error", "cannot step back", 12))
                return
            if moved or presenter.runner is not None:
                await self._attach()
            self._emit(Changed(key=True))

    async def _close_current(self) -> None:
        old_engine, old = self.engine, self.presenter
        self.engine = None  # the bank reader stops before anything is closed
        self._detach_scenario_pipeline()
        await self.reader.idle()
        self._drop_subscription()
        if old is not None:
            await old.close()
        elif old_engine is not None:
            await old_engine.close()
        self.presenter = None

    async def leave_scenario(self) -> None:
        """Close the scenario and open the app's own bank again, as at start-up."""
        if self.presenter is None:
            return
        async with self.lock:
            await self._close_current()
            self.pipeline_mode = False
            self._emit(ModeChanged())
            self.settings.fresh = False  # --fresh meant the start, not every return
            try:
                engine = await self._open_engine()
            except StoreError as exc:
                self._emit(Notice(str(exc), "error", timeout=12))
                return
            self._use_engine(engine)
            await self.reader.read_now()
        self._emit(Notice(f"back on your bank: {self.db_label}"))
        self._emit(Changed(key=True))

    async def play_scenario(self, name: str) -> None:
        """The palette: close what is on screen (live bank or scenario) and play `name` instead."""
        from atm_tui.scenarios.loader import load
        from atm_tui.scenarios.scenario import ScenarioError

        await self._leave_pipeline()
        try:
            load(name)
        except ScenarioError as exc:
            self._emit(Notice(str(exc), "error", "scenario not loaded", 12))
            return
        async with self.lock:
            await self._close_current()
            try:
                await self.start_scenario(name)
            except (ScenarioError, StoreError) as exc:
                self._emit(Notice(str(exc), "error", "scenario not loaded", 12))
                return
        self._emit(ModeChanged())
        self._emit(Changed(key=True))
