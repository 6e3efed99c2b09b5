"""The headless scenario player: one step per call on the real engine, and an exact step back.

Going back replays the scenario from its seed on a freshly emptied database up to the step before,
so the state after `back()` is the state reached going forwards, byte for byte. The app drives
the same player (`begin_step` then its own pacing, or `next`); it never imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atm_tui.bank.service import Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.scenarios import actions
from atm_tui.scenarios.loader import Scenario, Step
from atm_tui.sim.engine import Engine
from atm_tui.sim.events import Control, Event

Listener = Callable[[Event], None]
STEP_CONTROL = "scenario_step"


class ScenarioPlayer:
    """Plays `scenario` on the bank file `db_path` (emptied on open and on every step back)."""

    def __init__(
        self, scenario: Scenario, db_path: str, *, seed: int | None = None, bridge: Bridge = "inline"
    ) -> None:
        self.scenario = scenario
        self.db_path = db_path
        self.seed = scenario.seed if seed is None else seed
        self.bridge: Bridge = bridge
        self.engine: Engine | None = None
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
    def caption(self) -> str:
        """The caption of the step just played, or the scenario's summary before the first."""
        if self.position == 0:
            return self.scenario.summary
        return self.scenario.steps[self.position - 1].caption

    @property
    def counter(self) -> str:
        return f"step {self.position} of {self.total}"

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
    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("the scenario player is not open; call open() first")
        return self.engine

    async def open(self) -> ScenarioPlayer:
        """Start at position 0: a fresh bank at the scenario's starting state."""
        await self._build()
        return self

    async def _build(self) -> None:
        if self.engine is not None:
            await self.engine.close()
            self.engine = None
        for fn in self._reset_listeners:
            fn()
        self.position = 0
        self.events = []
        self.step_events = [0]
        self._in_step = None
        start = self.scenario.start
        store = StoreConfig(self.db_path, opening_balance=start["opening_balance"], fresh=True)
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

    async def __aenter__(self) -> ScenarioPlayer:
        return await self.open()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- stepping -------------------------------------------------------------------------------
    async def begin_step(self) -> bool:
        """Perform the next step's actions (the UI then paces time itself). False at the end."""
        if self.done or self._in_step is not None:
            return False
        engine = self._engine()
        step = self.scenario.steps[self.position]
        engine.world.emit(Control(engine.now, "", 0, STEP_CONTROL, str(self.position + 1)))
        for action in step.actions:
            await actions.apply(engine, action.name, action.args)
        self._in_step = step
        self._step_target = None if step.wait_ms is None else engine.now + step.wait_ms
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
        engine = self._engine()
        if self._step_target is None:
            await engine.run_until_idle()
        else:
            await engine.advance_to(self._step_target)
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
