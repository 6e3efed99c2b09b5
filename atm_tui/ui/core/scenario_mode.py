"""The Session's presenter mode: a scenario's player attached to the panes, stepped by the Presenter.

A part the Session holds (`session.scenarios`), not a mixin: it owns the presenter and a pipeline
scenario's pipeline, and shows them through the Session's public names (its engine, view, clock).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from atm_tui.bank.store import StoreError
from atm_tui.paths import data_dir
from atm_tui.ui.core.pacer import ATM
from atm_tui.ui.core.session_events import KEY, MODE, PRESENTER, Notice

if TYPE_CHECKING:
    from atm_tui.scenarios.player import ScenarioPlayer
    from atm_tui.sim.pipeline.pipeline import Pipeline
    from atm_tui.ui.core.presenter import Presenter
    from atm_tui.ui.core.session import Session


class ScenarioMode:
    """A scenario on its own file, instead of the live bank."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.presenter: Presenter | None = None
        self.pipeline: Pipeline | None = None  # a pipeline scenario's, as shown (None while rebuilt)
        self._unsubscribe: Callable[[], None] | None = None

    def scenario_dir(self) -> Path:
        session = self.session
        s = session.settings
        return Path(s.scenario_dir) if s.scenario_dir else data_dir() / "scenarios"

    async def start(self, name: str | None, player: ScenarioPlayer | None = None) -> None:
        """Open scenario `name` on its own file (or show `player`, the export's) and attach to it.

        Raises ScenarioError or StoreError with one line naming the file.
        """
        from atm_tui.bank.store import check_path
        from atm_tui.scenarios.instance import Claim, claim
        from atm_tui.scenarios.loader import load
        from atm_tui.scenarios.player import ScenarioPlayer
        from atm_tui.ui.core.presenter import Presenter

        session = self.session
        s = session.settings
        owned = player is None
        claimed: Claim | None = None
        if player is None:
            assert name is not None
            scenario = load(name)
            folder = self.scenario_dir()
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
        session = self.session
        async with session.lock:
            presenter = self.presenter
            assert presenter is not None
            player = presenter.player
            presenter.in_step = player.playing
            presenter.shown_step = player.shown_step
            await self._attach()

    async def _attach(self) -> None:
        """Show the player's current run: replay its events into a fresh view, read the bank."""
        session = self.session
        presenter = self.presenter
        assert presenter is not None
        player = presenter.player
        session.drop_subscription()
        self.detach_pipeline()
        engine = player.engine
        session.engine = None
        session.pipeline_mode = player.pipeline is not None
        if player.pipeline is not None:
            model = session.new_pipe_model(0)  # a scenario's clock always starts at 0
            for ev in player.events:
                model(ev)
            model.bank_changed = False
            session.pipe_model = model
            self._unsubscribe = player.pipeline.subscribe(session.live_pipeline.on_event)
            session.pacer.sync(player.pipeline.now, ATM)
            self.pipeline = player.pipeline
        elif engine is not None:
            session.amount = engine.config.amount
            session.use_engine(engine)
            session.t0 = 0  # a scenario's clock always starts at 0; back() must not shift the diagram
            view = session.view
            view.atm.detail = "The scenario drives this client: → plays the next step."
            for ev in player.events:
                view(ev)
            view.bank_changed = False
        await session.reader.read_now()
        session.emit(MODE)
        session.emit(PRESENTER)

    def detach_pipeline(self) -> None:
        self.pipeline = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def step_changed(self) -> None:
        session = self.session
        session.reader.request()  # the screen at a step's end is the file at the step's end
        session.emit(PRESENTER)

    async def next_step(self) -> None:
        """The scenario's next beat (or the end of the one playing)."""
        session = self.session
        async with session.lock:
            presenter = self.presenter
            if presenter is None:
                return
            await presenter.next()
            runner = presenter.runner
            if runner is not None:
                session.pacer.sync(runner.now, ATM)
            # The step's actions may change what the bank pane's title says (a mode).
            self.step_changed()

    async def previous_step(self) -> None:
        """One step back, exactly: the player replays from the seed on its emptied file."""
        session = self.session
        async with session.lock:
            presenter = self.presenter
            if presenter is None:
                return
            session.engine = None  # the bank reader stops before the file is emptied
            self.detach_pipeline()
            await session.reader.idle()
            try:
                moved = await presenter.back()
            except StoreError as exc:
                session.tell(Notice(str(exc), "error", "cannot step back", 12))
                return
            if moved or presenter.runner is not None:
                await self._attach()
            session.emit(KEY)

    async def _close_current(self) -> None:
        session = self.session
        old_engine, old = session.engine, self.presenter
        session.engine = None  # the bank reader stops before anything is closed
        self.detach_pipeline()
        await session.reader.idle()
        session.drop_subscription()
        if old is not None:
            await old.close()
        elif old_engine is not None:
            await old_engine.close()
        self.presenter = None

    async def leave(self) -> None:
        """Close the scenario and open the app's own bank again, as at start-up."""
        session = self.session
        if self.presenter is None:
            return
        async with session.lock:
            await self._close_current()
            session.pipeline_mode = False
            session.emit(MODE)
            session.settings.fresh = False  # --fresh meant the start, not every return
            try:
                engine = await session.open_engine()
            except StoreError as exc:
                session.tell(Notice(str(exc), "error", timeout=12))
                return
            session.use_engine(engine)
            await session.reader.read_now()
        session.tell(Notice(f"back on your bank: {session.db_label}"))
        session.emit(KEY)

    async def play(self, name: str) -> None:
        """The palette: close what is on screen (live bank or scenario) and play `name` instead."""
        from atm_tui.scenarios.loader import load
        from atm_tui.scenarios.scenario import ScenarioError

        session = self.session
        await session.live_pipeline.leave()
        try:
            load(name)
        except ScenarioError as exc:
            session.tell(Notice(str(exc), "error", "scenario not loaded", 12))
            return
        async with session.lock:
            await self._close_current()
            try:
                await self.start(name)
            except (ScenarioError, StoreError) as exc:
                session.tell(Notice(str(exc), "error", "scenario not loaded", 12))
                return
        session.emit(MODE)
        session.emit(KEY)
