"""The virtual clock and the event queue: a run jumps from one scheduled action to the next."""

from __future__ import annotations

import heapq
import random
from collections.abc import Awaitable, Callable
from typing import Any

from atm_tui.sim.events import Event

Subscriber = Callable[[Event], None]


class Clock:
    """Virtual milliseconds. Only the World moves it; nothing in the engine reads the wall clock."""

    __slots__ = ("now",)

    def __init__(self, start: int = 0) -> None:
        self.now = start


class World:
    """The clock, the queue of scheduled actions, the one seeded RNG and the trace's subscribers."""

    def __init__(self, seed: int, start: int = 0) -> None:
        self.clock = Clock(start)
        self.rng = random.Random(seed)
        self._queue: list[tuple[int, int, Callable[..., Any], tuple[Any, ...], bool]] = []
        self._seq = 0
        self._subscribers: list[Subscriber] = []

    @property
    def now(self) -> int:
        return self.clock.now

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call fn with every event from now on; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn)

    def emit(self, event: Event) -> None:
        for fn in self._subscribers:
            fn(event)

    def at(self, t: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) at virtual time t (ties keep the order they were scheduled in)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(t, self.clock.now), self._seq, fn, args, False))

    def at_async(self, t: int, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Like `at`, for an action that awaits the bank."""
        self._seq += 1
        heapq.heappush(self._queue, (max(t, self.clock.now), self._seq, fn, args, True))

    def next_time(self) -> int | None:
        return self._queue[0][0] if self._queue else None

    def idle(self) -> bool:
        return not self._queue

    async def step(self) -> bool:
        """Run the earliest action. Returns False if nothing was scheduled."""
        if not self._queue:
            return False
        t, _, fn, args, is_async = heapq.heappop(self._queue)
        self.clock.now = t
        if is_async:
            await fn(*args)
        else:
            fn(*args)
        return True

    async def run_until_idle(self, max_steps: int | None = None) -> int:
        """Run until nothing is scheduled (headless: no waiting). Returns the number of steps."""
        steps = 0
        queue = self._queue
        while queue and (max_steps is None or steps < max_steps):
            t, _, fn, args, is_async = heapq.heappop(queue)
            self.clock.now = t
            if is_async:
                await fn(*args)
            else:
                fn(*args)
            steps += 1
        return steps

    async def advance_to(self, t: int) -> None:
        """Run every action due up to t, then set the clock to t (the UI's pacing calls this)."""
        queue = self._queue
        while queue and queue[0][0] <= t:
            await self.step()
        if t > self.clock.now:
            self.clock.now = t
