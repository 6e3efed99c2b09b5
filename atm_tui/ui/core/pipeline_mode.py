"""The Session's live pipeline mode (`p`): a log pipeline opened on the bank's file, and its keys."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from atm_tui.bank.store import StoreConfig, StoreError
from atm_tui.sim.events import Control, Event
from atm_tui.ui.core.bank_reader import BankReader
from atm_tui.ui.core.pacer import PIPELINE, Pacer
from atm_tui.ui.core.session_events import Changed, ModeChanged, Notice, PipeModel, SessionEvent
from atm_tui.ui.core.settings import Settings

if TYPE_CHECKING:
    from atm_tui.bank.pipeline_store import ConsumerMode
    from atm_tui.sim.atm.engine import Engine
    from atm_tui.sim.pipeline.pipeline import Pipeline

BURST = 20  # messages produced by S in pipeline mode
CONSUMER_CYCLE: dict[str, ConsumerMode] = {
    "naive": "idempotent", "idempotent": "transactional", "transactional": "naive",
}  # fmt: skip


class PipelineMode:
    """Part of Session: the live pipeline, opened on the first p, shown or frozen."""

    settings: Settings
    lock: asyncio.Lock
    pacer: Pacer
    reader: BankReader
    engine: Engine | None
    pipeline: Pipeline | None
    pipeline_mode: bool
    pipe_model: PipeModel | None
    pipe_opening: bool
    _pipe_unsubscribe: Callable[[], None] | None
    _pipe_pending: list[Callable[[Pipeline], object]]
    _pipeline_model: Callable[[int], PipeModel]

    if TYPE_CHECKING:

        def _emit(self, event: SessionEvent) -> None: ...

        def say(self, caption: str) -> None: ...

    @staticmethod
    def _consumer_failed(pipeline: Pipeline) -> str:
        # The pipeline already decided (sim/pipeline/consumer.py `store_failed`): the consumer died and its
        # replacement is scheduled; this only words it.
        return "the consumer failed and restarts from its committed offset once the file is free."

    def _on_pipe_event(self, ev: Event) -> None:
        model = self.pipe_model
        if model is None:
            return
        model(ev)
        if model.bank_changed:
            model.bank_changed = False
            self.reader.request()
        self._emit(Changed(key=isinstance(ev, Control)))

    def toggle_pipeline(self) -> bool:
        """p: the pipeline view on or off. True: the pipeline must be opened first (open_pipeline)."""
        if self.pipeline is None:
            if self.pipe_opening:
                return False
            # Pipeline mode at once: keys pressed while it opens are greyed, never the ATM's.
            self.pipe_opening = True
            self.pipeline_mode = True
            self.pipe_model = self._pipeline_model(0)  # the pipeline's clock as stored, like the ATM's
            self._switched()
            return True
        self.pipeline_mode = not self.pipeline_mode
        if not self.pipeline_mode:  # the ATM's last caption is about a moment that has passed
            self.say("Back at the ATM; the pipeline's charges are rows in the same ledger.")
        self._switched()
        return False

    def _switched(self) -> None:
        # Each clock starts again from now, so the hidden one did not run meanwhile.
        self.pacer.restart()
        self._emit(ModeChanged())
        self.reader.request()
        self._emit(Changed(key=True))

    async def open_pipeline(self) -> None:
        """Open a Pipeline on the bank's file (its own aiosqlite connection) and start it, empty."""
        from atm_tui.sim.pipeline.pipeline import Pipeline, PipelineConfig

        s = self.settings
        store = StoreConfig(s.db, opening_balance=s.opening_balance, fresh=False, synchronous=s.synchronous)
        try:
            async with self.lock:
                config = PipelineConfig(seed=s.seed, messages=0)
                pipeline = await Pipeline.open(config, store, bridge="aiosqlite")
                self.pipe_model = self._pipeline_model(0)
                self._pipe_unsubscribe = pipeline.subscribe(self._on_pipe_event)
                if self.engine is not None:  # the pipeline goes on from the ATM's time, never before it
                    await pipeline.advance_to(self.engine.now)
                self.pacer.sync(pipeline.now, PIPELINE)
                self.pipeline = pipeline
                pipeline.start(0)
                pending, self._pipe_pending = self._pipe_pending, []
                for call in pending:
                    call(pipeline)
        except (sqlite3.Error, StoreError) as exc:
            self._emit(Notice(f"pipeline not opened: {exc}", "error", timeout=10))
            self.pipeline_mode = False
            self._pipe_pending = []
            return
        finally:
            self.pipe_opening = False
            self._switched()

    def on_pipeline(self, call: Callable[[Pipeline], object]) -> None:
        """One Pipeline call per key; keys typed while the pipeline opens run, in order, once it is open."""
        if self.pipeline is not None:
            call(self.pipeline)
        elif self.pipe_opening:
            self._pipe_pending.append(call)

    def cycle_consumer(self) -> None:
        self.on_pipeline(lambda p: p.set_consumer_mode(CONSUMER_CYCLE[p.config.consumer]))
        self.reader.request()

    def set_consumer(self, mode: ConsumerMode) -> None:
        self.on_pipeline(lambda p: p.set_consumer_mode(mode))
        self.reader.request()

    async def _leave_pipeline(self) -> None:
        """Close the pipeline and show the ATM's panes again (a scenario is about to take the screen)."""
        async with self.lock:
            await self._close_pipeline()
        if self.pipeline_mode:
            self.pipeline_mode = False
            self._emit(ModeChanged())

    async def _close_pipeline(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if self._pipe_unsubscribe is not None:
            self._pipe_unsubscribe()
            self._pipe_unsubscribe = None
        if pipeline is not None:
            await pipeline.close()
