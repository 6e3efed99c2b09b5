"""Coalesced reads of the bank's SQLite file: at most a few a second, one read covering every commit."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable

from atm_tui.bank.store import StoreError

BANK_READS_PER_SECOND = 10


class BankReader:
    """`request()` after a commit; a read runs soon after, at most `per_second` times a second.

    `read` does the reading (and hands the snapshots on); `ready` says whether there is a bank to
    read now (False while a runner is being closed or rebuilt); `on_error` hears a SQLite error.
    """

    def __init__(
        self,
        read: Callable[[], Awaitable[None]],
        *,
        ready: Callable[[], bool],
        on_error: Callable[[Exception], None],
        per_second: float = BANK_READS_PER_SECOND,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._read = read
        self._ready = ready
        self._on_error = on_error
        self._interval = 1 / per_second
        self._clock = clock
        self._dirty = False
        self._last = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.reads = 0

    @property
    def pending(self) -> bool:
        """A read was asked for and has not run yet."""
        return self._dirty

    @property
    def busy(self) -> bool:
        return self._task is not None

    def request(self) -> None:
        """Ask for a read; requests made before it starts share it."""
        self._dirty = True
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def read_now(self) -> None:
        """Read at once (start-up, a newly attached runner): the first frame must be complete."""
        if self._ready():
            self._last = self._clock()
            await self._read()
            self.reads += 1

    async def idle(self) -> None:
        """Wait until no read is running or due (call with `ready` False to stop the reader)."""
        while self._task is not None:
            await asyncio.wait({self._task})
        if self._dirty and self._ready():
            self.request()
            await self.idle()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        try:
            while self._dirty and self._ready():
                wait = self._last + self._interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                    if not self._ready():
                        break
                self._last = self._clock()
                self._dirty = False
                await self._read()
                self.reads += 1
        except (sqlite3.Error, StoreError) as exc:
            self._on_error(exc)
        finally:
            self._task = None
