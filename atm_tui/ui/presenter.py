"""Presenter mode: a scenario played beat by beat in the app, under a caption bar, on its own file.

The player (atm_tui/scenarios/player.py) owns the engine (or, for a pipeline scenario, the log
pipeline); the app shows it exactly as it shows a live run (the same world subscription, the same
bank snapshots, the same panes) and paces a step's virtual time with its own clock. Keys that
would change the story are refused while a scenario plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Static

from atm_tui.bank.store import StoreError, check_path
from atm_tui.scenarios.instance import Claim
from atm_tui.scenarios.instance import claim as claim_instance
from atm_tui.scenarios.loader import Scenario, ScenarioError, load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.scenarios.timing import MIN_HOLD, hold_seconds
from atm_tui.ui.bindings import KEYS
from atm_tui.ui.pipeline_view import PipelineModel
from atm_tui.ui.widgets import KeyBar

if TYPE_CHECKING:
    from atm_tui.sim.engine import Engine
    from atm_tui.sim.pipeline import Pipeline
    from atm_tui.ui.app import AtmApp

# Keys whose action would add to the story or change its settings: the scenario would no longer
# be the one on file, and going back (a replay from the seed) would not reproduce the screen.
BLOCKED = frozenset({
    "withdraw", "amount", "balance", "status", "retry", "drop_reply", "drop_request", "duplicate",
    "drop_all", "auto_retry", "idempotency", "compare", "storm", "reset", "mode", "crash_gap",
})  # fmt: skip
# The live pipeline's keys: off in any scenario (a pipeline scenario's pipeline is the story's).
PIPELINE_KEYS = frozenset({
    "pipeline", "produce", "lose_ack", "consumer_mode", "consumer", "producer_idempotence",
    "crash_consumer", "crash_before_commit", "burst",
})  # fmt: skip

# Priority: a focused scroll area would otherwise take the arrows and Page Up/Down.
PRESENTER_KEYS: list[Binding] = [
    Binding("right", "next_step", "next", key_display="→", id="atm-tui.next_step",
            priority=True,
            tooltip="Scenario: next step (also n, space, Page Down); while one plays, jump to its end"),
    Binding("n", "next_step", "next", show=False, id="atm-tui.next_step.n"),
    # Checked before the pause key: outside a scenario next_step is off and space pauses.
    Binding("space", "next_step", "next", show=False, id="atm-tui.next_step.space", priority=True),
    Binding("pagedown", "next_step", "next", show=False, id="atm-tui.next_step.pagedown", priority=True),
    Binding("left", "previous_step", "back", key_display="←", id="atm-tui.previous_step",
            priority=True, tooltip="Scenario: one step back (also Page Up), replayed exactly from the seed"),
    Binding("pageup", "previous_step", "back", show=False, id="atm-tui.previous_step.pageup", priority=True),
]

AUTOPLAY_HOLD = MIN_HOLD  # the shortest hold; each step's own is timing.hold_seconds


class CaptionBar(Static):
    """The scenario's title, "step 3 of 7", and what the step shows, in words."""

    DEFAULT_CSS = """
    CaptionBar {
        display: none;
        height: auto;
        max-height: 5;
        padding: 0 1;
        background: $boost;
        border-left: thick $accent;
    }
    """

    def show_state(self, title: str, counter: str, caption: str, state: str) -> None:
        text = Text(overflow="fold")
        text.append(f" {counter} ", style="bold reverse")
        text.append(f" {state} " if state else " ", style="bold")
        text.append(title, style="bold")
        text.append("\n")
        text.append(caption)
        self.update(text)


def scenario_db(folder: Path, scenario: Scenario) -> Path:
    """The scenario's own file in `folder` (the player empties it): never the user's bank."""
    return folder / f"{scenario.name}.db"


class Presenter:
    """Drives a ScenarioPlayer for the app: next, back, the pacing of a step, autoplay."""

    def __init__(
        self, app: AtmApp, player: ScenarioPlayer, *, owned: bool = True, autoplay: bool = False,
        instant: bool = False,
    ) -> None:
        self.app = app
        self.player = player
        self.owned = owned  # the export hands us a player it closes itself
        self.autoplay = autoplay
        self.instant = instant  # --no-animation: a step jumps to its end
        self.in_step = False
        self.shown_step = player.position  # the step whose caption is on screen (begun or finished)
        self._finished_at: float | None = None
        # A pipeline scenario's pipeline as shown: None while the player rebuilds it (back), so the
        # bank reader stops before the file is emptied, as app.engine = None does for the ATM.
        self.pipeline: Pipeline | None = None
        self._unsubscribe_pipeline: Callable[[], None] | None = None
        self.claim: Claim | None = None  # the scenario file this app holds, released on close

    @property
    def scenario(self) -> Scenario:
        return self.player.scenario

    @property
    def counter(self) -> str:
        return f"step {self.shown_step} of {self.player.total}"

    @property
    def runner(self) -> Engine | Pipeline | None:
        """What the scenario's virtual time runs on: the ATM engine or the log pipeline."""
        player = self.player
        return player.engine if player.engine is not None else player.pipeline

    @property
    def caption(self) -> str:
        k = self.shown_step
        return self.scenario.summary if k == 0 else self.scenario.steps[k - 1].caption

    # -- attaching the app to the player's engine -----------------------------------------------
    async def attach(self) -> None:
        """Show the player's current run: replay its events into a fresh view, read the bank."""
        app, player = self.app, self.player
        if app._unsubscribe is not None:
            app._unsubscribe()
            app._unsubscribe = None
        self._detach_pipeline()
        engine = player.engine
        app.engine = None
        app.pipeline_mode = player.pipeline is not None
        if player.pipeline is not None:
            self._attach_pipeline(player.pipeline)
        elif engine is not None:
            app.amount = engine.config.amount
            app._use_engine(engine)
            app._t0 = 0  # a scenario's clock always starts at 0; back() must not shift the diagram
            view = app.view
            view.atm.detail = "The scenario drives this ATM: → plays the next step."
            for ev in player.events:
                view(ev)
            view.bank_changed = False
        await app._read_bank_now()
        if app._widgets_ready:
            app._bind_widgets()
        self.show()

    def _attach_pipeline(self, pipeline: Pipeline) -> None:
        """The pipeline view, as live pipeline mode shows it: the model replays the run so far."""
        app = self.app
        model = PipelineModel(0)  # a scenario's clock always starts at 0
        for ev in self.player.events:
            model(ev)
        model.bank_changed = False
        app.pipe_model = model
        self._unsubscribe_pipeline = pipeline.subscribe(app._on_pipe_event)
        app._virtual = float(pipeline.now)
        self.pipeline = pipeline

    def _detach_pipeline(self) -> None:
        self.pipeline = None
        if self._unsubscribe_pipeline is not None:
            self._unsubscribe_pipeline()
            self._unsubscribe_pipeline = None

    def show(self) -> None:
        """Redraw the caption bar, and put the presenter's keys in the key bar."""
        app = self.app
        if self.in_step:
            state = "▶ playing"
        elif self.player.done:
            state = "✓ last step"
        else:
            state = ""
        if not app._widgets_ready:
            return
        try:
            bar = app.query_one(CaptionBar)
            keybar = app.query_one(KeyBar)
            caption = app.query_one("#caption")
            app._show_mode()  # a pipeline scenario: the pipeline view in the network pane
        except NoMatches:  # not composed yet, or shutting down
            return
        bar.display = True
        caption.display = False
        bar.show_state(self.scenario.title, self.counter, self.caption, state)
        # Space means "next" here, so the pause key is not listed; refused keys are left out.
        keys = [b for b in PRESENTER_KEYS if b.show]
        keys += [b for b in KEYS if b.action not in BLOCKED and b.action != "pause"]
        if keybar.keys != keys:
            keybar.keys = keys
            keybar.refresh(layout=True)
        app._render_top()

    def explain(self, key: str) -> None:
        """A refused key was pressed: say why nothing happened."""
        action = _KEY_ACTIONS.get(key)
        if action not in BLOCKED and action not in PIPELINE_KEYS:
            return
        self.app.notify(
            f"{key} is off while a scenario plays: it would change the story on file. To try it on "
            "your own bank, leave the scenario (ctrl+p, Scenario: leave it).",
            timeout=5,
        )

    # -- stepping -------------------------------------------------------------------------------
    async def next(self) -> None:
        """The next beat; while one is playing, jump to its end instead."""
        async with self.app._lock:
            if self.in_step:
                await self._finish()
                return
            if not await self.player.begin_step():
                self.show()
                return
            self.in_step = True
            self.shown_step = self.player.position + 1
            self._finished_at = None
            runner = self.runner
            if runner is not None:
                self.app._virtual = float(runner.now)
            # The step's actions may change what the bank pane's title says (a mode).
            self.app._request_bank()
            if self.instant:
                await self._finish()
            else:
                self.show()

    async def back(self) -> None:
        """One step back, exactly: the player replays from the seed on its emptied file."""
        app = self.app
        async with app._lock:
            app.engine = None  # the bank reader stops before the file is emptied
            self._detach_pipeline()
            while app._bank_reading:
                await asyncio.sleep(0.005)
            try:
                moved = await self.player.back()
            except StoreError as exc:  # the scenario's file became unusable (locked, disk full)
                app.notify(str(exc), title="cannot step back", severity="error", timeout=12)
                return
            self.in_step = False
            self.shown_step = self.player.position
            self._finished_at = app.settings.wall()
            if moved or self.runner is not None:
                await self.attach()
            app._render_all()

    async def advance(self, target: int) -> None:
        """Called from the app's clock with the virtual time reached: move the step on to it."""
        player, runner = self.player, self.runner
        if not self.in_step:
            self._maybe_autoplay()
            return
        if runner is None:
            return
        end = player.step_target
        if end is not None:
            await runner.advance_to(min(target, end))
            if runner.now >= end:
                await self._finish()
            return
        # Until idle: run what falls due, but never move the clock past the last event, so the
        # step ends at the very time it ends at headless.
        world = runner.world
        while (t := world.next_time()) is not None and t <= target:
            await world.step()
        if world.idle():
            await self._finish()

    async def _finish(self) -> None:
        await self.player.finish_step()
        self.in_step = False
        self.shown_step = self.player.position
        self._finished_at = self.app.settings.wall()
        self.app._request_bank()  # the screen at a step's end is the file at the step's end
        self.show()

    def _maybe_autoplay(self) -> None:
        s, player = self.app.settings, self.player
        if not self.autoplay or (player.done and not s.exit_at_end) or self._finished_at is None:
            return
        if s.wall() - self._finished_at >= hold_seconds(self.scenario, player.position, s.hold):
            self._finished_at = None
            if player.done:
                self.app.exit(0)
            else:
                self.app.call_next(self.app.presenter_next)

    async def close(self) -> None:
        self._detach_pipeline()
        if self.owned:
            await self.player.close()
        if self.claim is not None:
            self.claim.release()


# A key's first binding is its ATM meaning (pipeline mode reuses w, h, i and S after it).
_KEY_ACTIONS = {b.key: b.action for b in reversed(KEYS)} | {"+": "faster", "-": "slower", "?": "help"}


def _scenario_dir(app: AtmApp) -> Path:
    from atm_tui.ui.app import _data_dir

    return Path(app.settings.scenario_dir) if app.settings.scenario_dir else _data_dir() / "scenarios"


async def start(app: AtmApp, name: str | None, player: ScenarioPlayer | None = None) -> Presenter:
    """Open scenario `name` on its own file (or show `player`, the export's) and attach the app.

    Raises ScenarioError or StoreError with one line naming the file.
    """
    s = app.settings
    claimed: Claim | None = None
    if player is None:
        assert name is not None
        scenario = load(name)
        folder = _scenario_dir(app)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"scenario folder {folder}: {exc.strerror or exc}") from None
        claimed = claim_instance(folder, scenario.name)  # one file per running app (scenarios/instance.py)
        db = str(claimed.path)
        check_path(db)
        player = ScenarioPlayer(scenario, db, seed=s.scenario_seed, bridge="aiosqlite")
        await player.open()
        owned = True
    else:
        owned = False
    presenter = Presenter(app, player, owned=owned, autoplay=s.autoplay, instant=s.no_animation)
    presenter.claim = claimed
    app.presenter = presenter
    await presenter.attach()
    if owned:
        presenter._finished_at = s.wall()
    return presenter


async def _close_current(app: AtmApp) -> None:
    old_engine, old = app.engine, app.presenter
    app.engine = None  # the bank reader stops before anything is closed
    if old is not None:
        old._detach_pipeline()
    while app._bank_reading:
        await asyncio.sleep(0.005)
    if app._unsubscribe is not None:
        app._unsubscribe()
        app._unsubscribe = None
    if old is not None:
        await old.close()
    elif old_engine is not None:
        await old_engine.close()
    app.presenter = None


async def leave(app: AtmApp) -> None:
    """Close the scenario and open the app's own bank again, as at start-up."""
    if app.presenter is None:
        return
    async with app._lock:
        await _close_current(app)
        for selector, shown in (("#scenario-caption", False), ("#caption", True)):
            app.query_one(selector).display = shown
        app.pipeline_mode = False
        app._show_mode()
        keybar = app.query_one(KeyBar)
        keybar.keys = list(KEYS)
        keybar.refresh(layout=True)
        app.settings.fresh = False  # --fresh meant the start, not every return
        try:
            engine = await app._open()
        except StoreError as exc:
            app.notify(str(exc), severity="error", timeout=12)
            return
        app._use_engine(engine)
        await app._read_bank_now()
        app._bind_widgets()
    app.notify(f"back on your bank: {app.db_label}", timeout=4)
    app._render_all()


async def switch(app: AtmApp, name: str) -> None:
    """The palette: close what is on screen (live bank or scenario) and play `name` instead."""
    try:
        load(name)
    except ScenarioError as exc:
        app.notify(str(exc), title="scenario not loaded", severity="error", timeout=12)
        return
    async with app._lock:
        await _close_current(app)
        try:
            await start(app, name)
        except (ScenarioError, StoreError) as exc:
            app.notify(str(exc), title="scenario not loaded", severity="error", timeout=12)
            return
    app._render_all()
