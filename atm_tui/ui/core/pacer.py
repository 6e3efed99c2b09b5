"""Wall-clock time to virtual time: the speed, the pause, and the one formula that joins them."""

from __future__ import annotations

from collections.abc import Callable

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
# Each runner keeps its own virtual time, so one frozen while hidden does not jump when shown again.
ATM = "atm"  # the live engine and a scenario's runner
PIPELINE = "pipeline"  # the live log pipeline


class FakeClock:
    """A wall clock that moves only when told: tests and recordings pace the engine with it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Pacer:
    """Turns wall-clock seconds into the virtual milliseconds a runner may move on to."""

    def __init__(self, wall: Callable[[], float], speed: float = 1.0) -> None:
        self.wall = wall
        self.speed = speed if speed in SPEEDS else 1.0
        self.paused = speed == 0
        self._last_wall = wall()
        self._virtual: dict[str, float] = {}

    def restart(self) -> None:
        """The clock starts again from now: the wall time since the last tick is not run."""
        self._last_wall = self.wall()

    def sync(self, now: int, lane: str = ATM) -> None:
        """A runner was (re)attached or a step began: its virtual time is the runner's own."""
        self._virtual[lane] = float(now)

    def target(self, now: int | None, lane: str = ATM) -> int | None:
        """The virtual time (ms) the runner at `now` may run to; None while paused or if no time passed.

        The one formula: virtual += wall seconds elapsed x 1000 x speed, never behind the runner.
        """
        wall = self.wall()
        elapsed, self._last_wall = wall - self._last_wall, wall
        if self.paused or elapsed <= 0:
            return None
        start = self._virtual.get(lane, 0.0)
        if now is not None:
            start = max(start, float(now))
        self._virtual[lane] = start + elapsed * 1000 * self.speed
        return int(self._virtual[lane])

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        self.restart()
        return self.paused

    def step_speed(self, step: int) -> float:
        """One speed up (+1) or down (-1), within SPEEDS; returns the new speed."""
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + step))]
        return self.speed
