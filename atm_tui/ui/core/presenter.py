"""Presenter mode's stepper: a scenario played beat by beat (next, back, a step's pacing, autoplay).

The player (atm_tui/scenarios/player.py) owns the engine (or, for a pipeline scenario, the log
pipeline). The Presenter only moves it on and says where it stands; the Session attaches the
panes to it and the screens draw it. It knows no App and imports no Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from atm_tui.scenarios.keys import badge
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.scenarios.scenario import Scenario
from atm_tui.scenarios.timing import MIN_HOLD, hold_seconds
from atm_tui.ui.models import glossary

if TYPE_CHECKING:
    from atm_tui.scenarios.instance import Claim
    from atm_tui.sim.atm.engine import Engine
    from atm_tui.sim.pipeline.pipeline import Pipeline

AUTOPLAY_HOLD = MIN_HOLD  # the shortest hold; each step's own is timing.hold_seconds


def autoplay_hold(player: ScenarioPlayer, override: float | None = None) -> float:
    """How long a finished step stays under --autoplay: its `hold`, or its caption's reading time."""
    return hold_seconds(player.scenario, player.position, override)


class Presenter:
    """Drives a ScenarioPlayer: next, back, advance (the clock), and the state the caption shows."""

    def __init__(
        self, player: ScenarioPlayer, *, wall: Callable[[], float], owned: bool = True,
        autoplay: bool = False, instant: bool = False, hold: float | None = None,
        exit_at_end: bool = False, claim: Claim | None = None,
    ) -> None:
        self.player = player
        self.wall = wall
        self.owned = owned  # the export hands us a player it closes itself
        self.autoplay = autoplay
        self.instant = instant  # --no-animation: a step jumps to its end
        self.hold = hold  # --hold: seconds every step stays; None: the step's own
        self.exit_at_end = exit_at_end  # --exit-at-end: autoplay is due once more, to end the app
        self.claim = claim  # the scenario file this app holds (scenarios/instance.py), released on close
        self.in_step = player.playing  # the export's still at a step's start hands one mid-step
        self.shown_step = player.shown_step  # the step whose caption is on screen (begun or finished)
        # Wall time the shown step finished (autoplay counts from it); None: nothing is waiting.
        self.finished_at: float | None = wall() if owned else None

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

    @property
    def words(self) -> str:
        """The lesson words this caption is the first of the scenario's to use, explained."""
        sc = self.scenario
        firsts = glossary.first_uses([sc.summary, *(step.caption for step in sc.steps)])
        return glossary.note(firsts[self.shown_step])

    @property
    def keys(self) -> str:
        """The key badge of the step shown: what a person would press live for it ("key w")."""
        k = self.shown_step
        return badge(self.scenario.steps[k - 1], self.scenario.kind) if k > 0 else ""

    @property
    def state(self) -> str:
        """The caption bar's state word: playing, the last step, or nothing."""
        if self.in_step:
            return "▶ playing"
        return "✓ last step" if self.player.done else ""

    async def next(self) -> bool:
        """The next beat; while one is playing, jump to its end instead. False: nothing left."""
        if self.in_step:
            await self.finish()
            return True
        if not await self.player.begin_step():
            return False
        self.in_step = True
        self.shown_step = self.player.position + 1
        self.finished_at = None
        if self.instant:
            await self.finish()
        return True

    async def back(self) -> bool:
        """One step back, exactly: the player replays from the seed on its emptied file.

        Raises StoreError if the scenario's file became unusable (locked, disk full).
        """
        moved = await self.player.back()
        self.in_step = False
        self.shown_step = self.player.position
        self.finished_at = self.wall()
        return moved

    async def advance(self, target: int) -> bool:
        """The clock reached virtual time `target`: move the step on to it. True: the step ended."""
        runner = self.runner
        if not self.in_step or runner is None:
            return False
        end = self.player.step_target
        if end is not None:
            await runner.advance_to(min(target, end))
            if runner.now >= end:
                await self.finish()
                return True
            return False
        # Until idle: run what falls due, but never move the clock past the last event, so the
        # step ends at the very time it ends at headless.
        world = runner.world
        while (t := world.next_time()) is not None and t <= target:
            await world.step()
        if world.idle():
            await self.finish()
            return True
        return False

    async def finish(self) -> None:
        await self.player.finish_step()
        self.in_step = False
        self.shown_step = self.player.position
        self.finished_at = self.wall()

    def autoplay_due(self) -> bool:
        """--autoplay: the finished step has been on screen long enough; the next one may begin."""
        if not self.autoplay or self.in_step or self.finished_at is None:
            return False
        if self.player.done and not self.exit_at_end:
            return False
        if self.wall() - self.finished_at >= autoplay_hold(self.player, self.hold):
            self.finished_at = None
            return True
        return False

    async def close(self) -> None:
        if self.owned:
            await self.player.close()
        if self.claim is not None:
            self.claim.release()
            self.claim = None
