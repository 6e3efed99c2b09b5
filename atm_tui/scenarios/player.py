"""The headless scenario player: one step per call on the real engine, and an exact step back.

Going back replays the scenario from its seed on a freshly emptied database up to the step before,
so the state after `back()` is the state reached going forwards, byte for byte. The app drives
the same player (`begin_step` then its own pacing, or `next`); it never imports Textual.
A kind = "pipeline" scenario runs the log Pipeline instead of the ATM Engine, on the same terms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from atm_tui.bank.service import Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.scenarios import actions, pipeline_actions
from atm_tui.scenarios.scenario import Scenario, Step
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import START_CONTROL, Control, Event
from atm_tui.sim.pipeline.pipeline import Pipeline
from atm_tui.sim.world import World

Listener = Callable[[Event], None]
STEP_CONTROL = "scenario_step"


class Runner(Protocol):
    """What the player needs of what it drives: the Engine and the Pipeline both have it."""

    @property
    def world(self) -> World: ...

    @property
    def now(self) -> int: ...

    async def run_until_idle(self) -> int: ...

    async def advance_to(self, t: int) -> None: ...

    async def close(self) -> None: ...


class ScenarioPlayer:
    """Plays `scenario` on the bank file `db_path` (emptied on open and on every step back)."""

    def __init__(
        self, scenario: Scenario, db_path: str, *, seed: int | None = None, bridge: Bridge = "inline"
    ) -> None:
        self.scenario = scenario
        self.db_path = db_path
        self.seed = scenario.seed if seed is None else seed
        self.bridge: Bridge = bridge
        self.engine: Engine | None = None  # set for an ATM scenario
        self.pipeline: Pipeline | None = None  # set for a pipeline scenario
        self.position = 0  # steps completed; 0 = the starting state
        self.events: list[Event] = []
        self.step_events: list[int] = [0]  # index into events where each position's trace ends
        self._listeners: list[Listener] = []
        self._reset_listeners: list[Callable[[], None]] = []
        self._in_step: Step | None = None
        self._step_target: int | None = None

    # -- what the caption bar shows -------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self.scenario.steps)

    @property
    def done(self) -> bool:
        return self.position >= self.total

    @property
    def playing(self) -> bool:
        """A step is begun (its actions done) but not finished: the screen shows its start."""
        return self._in_step is not None

    @property
    def shown_step(self) -> int:
        """The step whose caption belongs on screen: the one in progress, else the last played."""
        return self.position + 1 if self._in_step is not None else self.position

    @property
    def caption(self) -> str:
        """The caption of the step shown (see shown_step), or the scenario's summary before the first."""
        if self.shown_step == 0:
            return self.scenario.summary
        return self.scenario.steps[self.shown_step - 1].caption

    @property
    def counter(self) -> str:
        return f"step {self.shown_step} of {self.total}"

    # -- listening ------------------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> None:
        """Call fn with every event, across rebuilds (a step back replays the events again)."""
        self._listeners.append(fn)

    def on_reset(self, fn: Callable[[], None]) -> None:
        """Call fn before a step back rebuilds the run, so a view can clear what it shows."""
        self._reset_listeners.append(fn)

    def _record(self, ev: Event) -> None:
        self.events.append(ev)
        for fn in self._listeners:
            fn(ev)

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.scenario.kind

    def _runner(self) -> Runner:
        runner: Runner | None = self.pipeline if self.scenario.kind == "pipeline" else self.engine
        if runner is None:
            raise RuntimeError("the scenario player is not open; call open() first")
        return runner

    async def _apply(self, name: str, args: dict[str, Any]) -> None:
        if self.pipeline is not None:
            await pipeline_actions.apply(self.pipeline, name, args)
        elif self.engine is not None:
            await actions.apply(self.engine, name, args)
        else:
            raise RuntimeError("the scenario player is not open; call open() first")

    async def open(self) -> ScenarioPlayer:
        """Start at position 0: a fresh bank at the scenario's starting state."""
        await self._build()
        return self

    async def _build(self) -> None:
        await self.close()
        for fn in self._reset_listeners:
            fn()
        self.position = 0
        self.events = []
        self.step_events = [0]
        self._in_step = None
        start = self.scenario.start
        store = StoreConfig(self.db_path, opening_balance=start["opening_balance"], fresh=True)
        if self.scenario.kind == "pipeline":
            # The file is emptied, so the clock starts at 0 and message ids at first_id, every time.
            config = self.scenario.pipeline_config(self.seed)
            pipeline = await Pipeline.open(config, store, bridge=self.bridge)
            pipeline.subscribe(self._record)
            self.pipeline = pipeline
            # Position 0 is a running pipeline with nothing in it: producer registered, consumer
            # joined at offset 0. The steps' "produce" actions create the messages.
            pipeline.start(0)
            await pipeline.run_until_idle()
            self.step_events = [len(self.events)]
            return
        # resume=False: the clock starts at 0 and ids at the scenario's first id, every time.
        engine = await Engine.open(
            self.scenario.sim_config(self.seed), store, bridge=self.bridge, resume=False
        )
        engine.world.subscribe(self._record)
        self.engine = engine

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()
            self.engine = None
        if self.pipeline is not None:
            await self.pipeline.close()
            self.pipeline = None

    async def __aenter__(self) -> ScenarioPlayer:
        return await self.open()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- stepping -------------------------------------------------------------------------------
    async def begin_step(self) -> bool:
        """Perform the next step's actions (the UI then paces time itself). False at the end."""
        if self.done or self._in_step is not None:
            return False
        runner = self._runner()
        step = self.scenario.steps[self.position]
        if self.position == 0 and self.engine is not None:
            # The starting state opens step 1's trace, so a view rebuilt from the events (a step
            # back, an export) knows the mode, the key retention and the wire the run began with.
            start, engine = self.scenario.start, self.engine
            state = (("mode", start["mode"]), ("ttl", str(start["ttl_ms"])), ("wire", start["wire"]),
                     ("account", engine.bank.account_id))
            for name, value in state:
                runner.world.emit(Control(runner.now, "", 0, START_CONTROL + name, value))
        runner.world.emit(Control(runner.now, "", 0, STEP_CONTROL, str(self.position + 1)))
        for action in step.actions:
            await self._apply(action.name, action.args)
        self._in_step = step
        self._step_target = None if step.wait_ms is None else runner.now + step.wait_ms
        return True

    @property
    def step_target(self) -> int | None:
        """Virtual time the step in progress ends at, or None if it runs until idle."""
        return self._step_target

    async def finish_step(self) -> None:
        """Run the step in progress to its end: its wait, or until nothing is scheduled."""
        step = self._in_step
        if step is None:
            return
        runner = self._runner()
        if self._step_target is None:
            await runner.run_until_idle()
        else:
            await runner.advance_to(self._step_target)
        self._in_step = None
        self.position += 1
        self.step_events.append(len(self.events))

    async def next(self) -> bool:
        """Play the next step to its end. False if there was none."""
        if self._in_step is None and not await self.begin_step():
            return False
        await self.finish_step()
        return True

    async def goto(self, position: int) -> None:
        """Reach `position` (0..total): forwards by playing, backwards by replaying from the seed."""
        if not 0 <= position <= self.total:
            raise ValueError(f"step {position}: use 0 to {self.total}")
        if position < self.position or (position == self.position and self._in_step is not None):
            await self._build()
        elif self._in_step is not None:
            await self.finish_step()
        while self.position < position:
            await self.next()

    async def back(self) -> bool:
        """One step back, exactly: replay from the seed up to the step before. False at the start.

        A step begun but not finished counts as the step to undo.
        """
        if self._in_step is not None:
            target = self.position
        elif self.position > 0:
            target = self.position - 1
        else:
            return False
        await self._build()
        while self.position < target:
            await self.next()
        return True

    async def play_all(self) -> None:
        while await self.next():
            pass

    def events_of_step(self, position: int | None = None) -> list[Event]:
        """The events of step `position` (default: the one just played), its marker included."""
        k = self.position if position is None else position
        if k <= 0:
            return self.events[: self.step_events[0]]
        return self.events[self.step_events[k - 1] : self.step_events[k]]
