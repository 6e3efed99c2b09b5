"""The Session's live pipeline (`p`): a log pipeline opened on the bank's file, and its keys.

A part the Session holds (`session.live_pipeline`), not a mixin: it owns the pipeline it opened
and reaches the Session's lock, clock, bank reads and events through the Session's public names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from atm_tui.bank.store import StoreConfig, StoreError
from atm_tui.sim.events import Control, Event
from atm_tui.ui.core.pacer import PIPELINE
from atm_tui.ui.core.session_events import KEY, MODE, RUNNER, Notice

if TYPE_CHECKING:
    from atm_tui.bank.pipeline_store import ConsumerMode
    from atm_tui.sim.pipeline.pipeline import Pipeline
    from atm_tui.ui.core.session import Session

BURST = 20  # messages produced by S in pipeline mode
CONSUMER_CYCLE: dict[str, ConsumerMode] = {
    "naive": "idempotent", "idempotent": "transactional", "transactional": "naive",
}  # fmt: skip


def consumer_failed() -> str:
    # The pipeline already decided (sim/pipeline/consumer.py `store_failed`): the consumer died and its
    # replacement is scheduled; this only words it.
    return "the consumer failed and restarts from its committed offset once the file is free."


class PipelineMode:
    """The live pipeline, opened on the first p, shown or frozen."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pipeline: Pipeline | None = None
        self.opening = False
        self._unsubscribe: Callable[[], None] | None = None
        self._pending: list[Callable[[Pipeline], object]] = []

    def on_event(self, ev: Event) -> None:
        """The shown pipeline's events (the live one's, or a pipeline scenario's) into its model."""
        s = self.session
        model = s.pipe_model
        if model is None:
            return
        model(ev)
        if model.bank_changed:
            model.bank_changed = False
            s.reader.request()
        s.emit(KEY if isinstance(ev, Control) else RUNNER)

    def toggle(self) -> bool:
        """p: the pipeline view on or off. True: the pipeline must be opened first (open)."""
        s = self.session
        if self.pipeline is None:
            if self.opening:
                return False
            # Pipeline mode at once: keys pressed while it opens are greyed, never the ATM's.
            self.opening = True
            s.pipeline_mode = True
            s.pipe_model = s.new_pipe_model(0)  # the pipeline's clock as stored, like the ATM's
            self._switched()
            return True
        s.pipeline_mode = not s.pipeline_mode
        if not s.pipeline_mode:  # the ATM's last caption is about a moment that has passed
            s.say("Back at the ATM; the pipeline's charges are rows in the same ledger.")
        self._switched()
        return False

    def _switched(self) -> None:
        # Each clock starts again from now, so the hidden one did not run meanwhile.
        s = self.session
        s.pacer.restart()
        s.emit(MODE)
        s.reader.request()
        s.emit(KEY)

    async def open(self) -> None:
        """Open a Pipeline on the bank's file (its own aiosqlite connection) and start it, empty."""
        from atm_tui.sim.pipeline.pipeline import Pipeline, PipelineConfig

        session = self.session
        s = session.settings
        store = StoreConfig(s.db, opening_balance=s.opening_balance, fresh=False, synchronous=s.synchronous)
        try:
            async with session.lock:
                config = PipelineConfig(seed=s.seed, messages=0)
                pipeline = await Pipeline.open(config, store, bridge="aiosqlite")
                session.pipe_model = session.new_pipe_model(0)
                self._unsubscribe = pipeline.subscribe(self.on_event)
                if session.engine is not None:  # the pipeline goes on from the ATM's time, never before it
                    await pipeline.advance_to(session.engine.now)
                session.pacer.sync(pipeline.now, PIPELINE)
                self.pipeline = pipeline
                pipeline.start(0)
                pending, self._pending = self._pending, []
                for call in pending:
                    call(pipeline)
        except (sqlite3.Error, StoreError) as exc:
            session.tell(Notice(f"pipeline not opened: {exc}", "error", timeout=10))
            session.pipeline_mode = False
            self._pending = []
            return
        finally:
            self.opening = False
            self._switched()

    def on_pipeline(self, call: Callable[[Pipeline], object]) -> None:
        """One Pipeline call per key; keys typed while the pipeline opens run, in order, once it is open."""
        if self.pipeline is not None:
            call(self.pipeline)
        elif self.opening:
            self._pending.append(call)

    # -- the pipeline view's keys, by name: the screen says what, this part says how -------------
    def produce(self, count: int) -> None:
        self.on_pipeline(lambda p: p.publish(count))

    def lose_next_acks(self, count: int) -> None:
        self.on_pipeline(lambda p: p.lose_next_acks(count))

    def crash_consumer(self) -> None:
        self.on_pipeline(lambda p: p.crash_consumer())

    def crash_before_next_commits(self, count: int) -> None:
        self.on_pipeline(lambda p: p.crash_before_next_commits(count))

    def toggle_producer_idempotence(self) -> None:
        # Kafka reads enable.idempotence when the producer starts, so the service restarts with it.
        def restart(p: Pipeline) -> None:
            p.set_producer_idempotent(not p.config.producer_idempotent)
            p.restart_producer()

        self.on_pipeline(restart)

    def cycle_consumer(self) -> None:
        self.on_pipeline(lambda p: p.set_consumer_mode(CONSUMER_CYCLE[p.config.consumer]))
        self.session.reader.request()

    def set_consumer(self, mode: ConsumerMode) -> None:
        self.on_pipeline(lambda p: p.set_consumer_mode(mode))
        self.session.reader.request()

    async def leave(self) -> None:
        """Close the pipeline and show the ATM's panes again (a scenario is about to take the screen)."""
        s = self.session
        async with s.lock:
            await self.close()
        if s.pipeline_mode:
            s.pipeline_mode = False
            s.emit(MODE)

    async def close(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if pipeline is not None:
            await pipeline.close()
