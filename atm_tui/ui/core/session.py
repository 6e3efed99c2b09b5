"""What runs now (the live ATM engine, the live log pipeline, or a scenario) and its clock and reads.

The Session is Textual-free: it opens, resets, switches and closes runners under one lock, paces
them with a Pacer, reads the bank with a BankReader, and tells the app what changed through
one kind of small event (`listen`: a `Change` carrying the models, `Shown`), which the app posts
on as one kind of Textual message. The live pipeline (`p`) and
the scenarios are parts it holds (`live_pipeline`, `scenarios`), each owning what it opened.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from atm_tui.bank.money import rupees
from atm_tui.bank.service import Bank
from atm_tui.bank.store import StoreConfig, StoreError, describe_error
from atm_tui.paths import home_relative
from atm_tui.sim.atm.atm import CLAIM_BLOCK
from atm_tui.sim.atm.compare import NaiveTwin, twin_path
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Control, Event
from atm_tui.ui.core.bank_reader import BankReader
from atm_tui.ui.core.pacer import ATM, PIPELINE, Pacer
from atm_tui.ui.core.pipeline_mode import BURST, CONSUMER_CYCLE, PipelineMode, consumer_failed
from atm_tui.ui.core.scenario_mode import ScenarioMode
from atm_tui.ui.core.session_events import (
    AUTOPLAY,
    BANKS,
    KEY,
    NOTICE,
    RUNNER,
    Change,
    Kind,
    Notice,
    PipeModel,
    Snapshot,
)  # fmt: skip
from atm_tui.ui.core.settings import Settings
from atm_tui.ui.core.shown import Shown
from atm_tui.ui.models.view import View

if TYPE_CHECKING:
    from atm_tui.sim.pipeline.pipeline import Pipeline
    from atm_tui.ui.core.presenter import Presenter

# Small, so 100 of them fit in a Rs 50,000 account: the storm shows retries and replays, not declines.
STORM_AMOUNT = 100
STORM_FAULTS = {"request_drop": 0.1, "reply_drop": 0.1, "request_duplicate": 0.1}  # 30 % in all


class Session:
    """Owns the runner on screen, the lock every change to it takes, the clock and the bank reads."""

    def __init__(
        self, settings: Settings, listen: Callable[[Change], None],
        pipeline_model: Callable[[int], PipeModel],
    ) -> None:
        self.settings = settings
        self._listen = listen
        self.new_pipe_model = pipeline_model  # the pipeline view's model, from its clock's start
        self.lock = asyncio.Lock()
        self.pacer = Pacer(settings.wall, settings.speed)
        self.reader = BankReader(self._read_bank, ready=self._can_read, on_error=self._read_failed)
        self.error = ""
        self.amount = settings.amount
        self.target: str | None = None  # the id s and r act on (None: the last); `o` picks another
        self.engine: Engine | None = None
        self.view = View(max_attempts=3, amount=self.amount)
        self.t0 = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._twin_wanted = False  # c was pressed and the twin is not open yet
        self._storm_engine: Engine | None = None
        self.store_failures = 0  # transactions the bank's file refused (locked by another program)
        self._store_trouble = ""  # the last such message, until the bank commits again
        self.snapshots: list[Snapshot] = []
        self.snapshot_count = 0  # a screen shows the snapshots again when this moves on
        # What is shown: the pipeline's view (live or a scenario's) instead of the ATM's, and its model.
        self.pipeline_mode = False
        self.pipe_model: PipeModel | None = None
        # The parts: a log pipeline on the same bank file (opened on the first `p`), and the scenarios.
        self.live_pipeline = PipelineMode(self)
        self.scenarios = ScenarioMode(self)
        self.shown = Shown(self)  # what every change carries: the models the screens draw

    def emit(self, kind: Kind) -> None:
        """Tell the app what changed (the Session's one way out), with the models to draw it from."""
        self._listen(Change(kind, self.shown))

    def tell(self, notice: Notice) -> None:
        """A line for the person at the keyboard, on the same way out."""
        self._listen(Change(NOTICE, self.shown, notice))

    @property
    def pipeline(self) -> Pipeline | None:
        """The live pipeline (`p`), once open."""
        return self.live_pipeline.pipeline

    @property
    def presenter(self) -> Presenter | None:
        """The scenario's stepper, while a scenario plays."""
        return self.scenarios.presenter

    # -- what is shown -------------------------------------------------------------------------
    @property
    def db_label(self) -> str:
        # Paths under the home folder as ~/...: a user name never reaches a projector or a video.
        if self.presenter is not None and not self.settings.shown_db:
            return home_relative(self.presenter.player.db_path)
        return home_relative(self.settings.shown_db or self.settings.db)

    @property
    def shown_pipeline(self) -> Pipeline | None:
        """The pipeline the pipeline view draws: a pipeline scenario's, or the live one (`p`)."""
        if self.presenter is not None:
            return self.scenarios.pipeline
        return self.pipeline

    @property
    def bank(self) -> Bank | None:
        """The bank the bank pane reads: the engine's, or a pipeline scenario's (it has no engine)."""
        if self.engine is not None:
            return self.engine.bank
        pipeline = self.scenarios.pipeline
        return pipeline.bank if self.presenter and pipeline else None

    def heard_from_outside(self, t: int, text: str) -> None:
        """A request the engine did not make (--serve) reached the bank: a note, then a read."""
        self.view.note(t, text)
        self.reader.request()
        self.emit(RUNNER)

    def _can_read(self) -> bool:
        return self.bank is not None

    def pick_target(self) -> str | None:
        """`o`: the next transaction s and r act on: the last (None), then each unknown one in turn."""
        engine = self.engine
        if engine is None:
            return None
        last = engine.atm.last_txn_id
        choices: list[str | None] = [None, *(t for t in engine.unknown if t != last)]
        i = choices.index(self.target) if self.target in choices else 0
        self.target = choices[(i + 1) % len(choices)]
        return self.target

    def say(self, caption: str) -> None:
        """Put the app's own caption (not the engine's) on the caption line of the view shown."""
        if self.pipeline_mode and self.pipe_model is not None:
            self.pipe_model.caption = caption
        else:
            self.view.caption = caption
        self.emit(KEY)

    # -- opening and closing --------------------------------------------------------------------
    async def open(self) -> None:
        """Open the bank (or the scenario) and read it, before the first frame; errors go to `error`."""
        s = self.settings
        try:
            if s.scenario or s.player:
                await self.scenarios.start(s.scenario, s.player)
                return
            self.use_engine(await self.open_engine())
            await self.reader.read_now()
        except StoreError as exc:
            self.error = str(exc)
        except sqlite3.Error as exc:
            self.error = str(describe_error(s.db, exc))

    async def open_engine(self) -> Engine:
        s = self.settings
        store = StoreConfig(s.db, opening_balance=s.opening_balance, fresh=s.fresh, synchronous=s.synchronous)
        # The naive twin's file is made on the first c only (open_twin), never just for opening.
        return await Engine.open(SimConfig(seed=s.seed, amount=self.amount), store, bridge="aiosqlite")

    def use_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.view = View(max_attempts=engine.config.atm.max_attempts, amount=self.amount)
        self.view.bank_mode, self.view.ttl = engine.bank.mode, engine.bank.ttl  # the ATM words need them
        self.view.show_twin = engine.compare
        self._unsubscribe = engine.world.subscribe(self._on_event)
        self.pacer.sync(engine.now, ATM)
        # Times on screen are the engine's own, as stored in the file's `at` columns: a reopened
        # bank's clock goes on from its last stored time, and so does the screen's.
        self.t0 = 0

    def drop_subscription(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def close(self) -> None:
        await self.reader.close()
        presenter = self.presenter
        if presenter is not None:
            self.scenarios.detach_pipeline()
            await presenter.close()
            self.scenarios.presenter = None
            self.engine = None
        await self.live_pipeline.close()
        if self.engine is not None:
            await self.engine.close()
            self.engine = None

    # -- the clock -------------------------------------------------------------------------------
    async def pace(self) -> None:
        """Move the shown runner's virtual time on by the wall time since the last call, times the speed."""
        async with self.lock:
            try:
                await self._drive()
            except (sqlite3.Error, StoreError) as exc:
                # Another program holds the file: this step's work is lost like a lost message,
                # rolled back, and the clock goes on (the ATM times out and retries the same id).
                self.store_failed(exc)

    async def _drive(self) -> None:
        if self._twin_wanted:
            await self._open_twin()  # before any delivery after the c: the twin gets every one
        presenter = self.presenter
        if presenter is not None:
            # A scenario: its engine or pipeline runs up to the step's end, then waits.
            runner = presenter.runner
            target = self.pacer.target(runner.now if runner is not None else None, ATM)
            if target is None:
                return
            if await presenter.advance(target):
                self.scenarios.step_changed()
            elif presenter.autoplay_due():
                self.emit(AUTOPLAY)
            return
        engine = self.engine
        if engine is None:
            return
        pipeline = self.pipeline
        # Only the shown one runs: the other waits, frozen, until it is shown again. Both go on from
        # the later of the two clocks, so the time on screen never runs backwards on p.
        if self.pipeline_mode and pipeline is not None:
            target = self.pacer.target(max(pipeline.now, engine.now), PIPELINE)
            if target is not None and target > pipeline.now:
                await pipeline.advance_to(target)
        else:
            target = self.pacer.target(max(engine.now, pipeline.now if pipeline is not None else 0), ATM)
            if target is not None and target > engine.now:
                await engine.advance_to(target)

    def store_failed(self, exc: Exception, *, lost: bool = True) -> None:
        """Say on screen that the bank's file refused a transaction, and what to do; the app goes on.

        `lost`: a step of the run failed (a delivery is lost); otherwise only a read of the panes.
        """
        text = str(exc)
        locked = "locked" in text or "busy" in text
        label = self.db_label
        name = Path(label).name
        if isinstance(exc, StoreError):
            message = caption = text
        elif locked:
            message = (
                f"database {label} is locked by another program (e.g. a sqlite3 shell holding"
                " a transaction); close it — the ATM retries with the same id (r retries by hand)"
            )
            caption = (
                f"database {name} is locked by another program: the delivery is lost;"
                " close it and the ATM's retry gets through."
            )
        else:
            message = f"database {label}: {text}; the delivery is lost, the ATM retries"
            caption = f"database {name}: {text}; the delivery is lost."
        if lost:
            self.store_failures += 1
            now = self.engine.now if self.engine is not None else 0
            if self.pipeline_mode and self.pipeline is not None and self.pipe_model is not None:
                self.pipe_model.caption = f"✕ {caption.split(':')[0]}: {consumer_failed()}"
            else:
                self.view.store_failed(now, caption, "db locked" if locked else "db error")
        if message != self._store_trouble:
            self._store_trouble = message
            self.tell(Notice(message, "error", "bank database", 10))
        self.emit(RUNNER)

    def _read_failed(self, exc: Exception) -> None:
        self.store_failed(exc, lost=False)

    # -- events from the runner ------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:
        view = self.view
        view(ev)
        if view.bank_changed:
            view.bank_changed = False
            self._store_trouble = ""  # the bank commits again: a next lock is news
            self.reader.request()
        if self._storm_engine is not None and not view.storm_running:
            asyncio.get_running_loop().call_soon(self._storm_over)
        self.emit(KEY if isinstance(ev, Control) else RUNNER)

    # -- the bank's panes ------------------------------------------------------------------------
    async def _read_bank(self) -> None:
        engine = self.engine
        bank = self.bank
        if bank is None:
            return
        # In pipeline mode the charges land in the same tables; the subtitle names the consumer.
        mode: str = bank.mode
        pipeline = self.shown_pipeline
        if self.pipeline_mode and pipeline is not None:
            mode = f"consumer: {pipeline.config.consumer}"
        snapshots: list[Snapshot] = [("#bank", await bank.snapshot(), self.db_label, mode)]
        twin = engine.twin if engine is not None else None
        if twin is not None:
            snapshots.append(("#twin", await twin.snapshot(), twin_path(self.db_label), "naive"))
        self.snapshots = snapshots
        self.snapshot_count += 1
        self.emit(BANKS)

    async def settled(self) -> None:
        """Wait until every bank read asked for has run (tests, frames)."""
        await self.reader.idle()

    # -- the ATM's keys that need more than one engine call ---------------------------------------
    def set_amount(self, value: int) -> None:
        self.amount = value
        if self.engine is not None:
            self.engine.config.amount = value
        self.view.welcome(value)

    def storm(self) -> bool:
        """100 withdrawals at once under random faults; False if one is already running."""
        engine = self.engine
        if engine is None or self.view.storm_running:
            return False
        n = self.settings.storm_size
        for name, p in STORM_FAULTS.items():
            direction, what = name.split("_")
            engine.set_rate(direction, what, p)
        self.view.start_storm(n, STORM_AMOUNT)
        self._storm_engine = engine
        for _ in range(n):
            self.view.add_storm_id(engine.withdraw(STORM_AMOUNT))
        self.view.storm_sent()
        self.emit(RUNNER)
        return True

    def _storm_over(self) -> None:
        # The storm's random faults end with it, as a teacher would switch them off.
        engine, self._storm_engine = self._storm_engine, None
        if engine is not None and engine is self.engine:
            for name in STORM_FAULTS:
                direction, what = name.split("_")
                engine.set_rate(direction, what, 0.0)

    def compare(self) -> bool:
        """c: compare mode on or off. True: the twin must be opened first (call open_twin)."""
        engine = self.engine
        if engine is None:
            return False
        if engine.twin is None:
            # The first c: open the twin, then turn compare mode on (pace will not move the clock
            # before it is open, so it misses no delivery).
            if self._twin_wanted:
                return False
            self._twin_wanted = True
            return True
        engine.set_compare(not engine.compare)
        # The twin's pane is kept current while hidden, so showing it needs no read.
        self.view.show_twin = engine.compare
        return False

    async def open_twin(self) -> None:
        async with self.lock:
            await self._open_twin()

    async def _open_twin(self) -> None:
        """Open the naive twin next to the bank's file, emptied, starting from the bank's balance now.

        Called with the lock held, by whichever of pace and the c key's worker runs first.
        """
        engine = self.engine
        if not self._twin_wanted or engine is None:
            return
        self._twin_wanted = False
        cfg = engine.bank.config
        try:
            balance = await engine.bank.balance()
            path = twin_path(cfg.path)
            store = StoreConfig(path, balance, cfg.account_id, cfg.owner, True, cfg.synchronous)
            twin = await NaiveTwin(store, bridge=engine.bank.bridge).open()
        except (sqlite3.Error, StoreError) as exc:
            self.tell(Notice(f"compare mode is off: {exc}", "warning", timeout=8))
            return
        engine.attach_twin(twin)
        engine.set_compare(True)
        self.view.show_twin = True
        self.reader.request()

    async def reset(self) -> None:
        """Empty the bank (Bank.reset) and the twin, and start a new run of the engine from T123."""
        async with self.lock:
            old = self.engine
            if old is None:
                return
            self.drop_subscription()
            try:
                await old.bank.reset()
                if old.twin is not None:
                    await old.twin.reset(old.bank.config.opening_balance)
            except StoreError as exc:
                self.tell(Notice(str(exc), "error", timeout=10))
                return
            # The pipeline's log and offsets belong to the emptied file: it opens afresh on the next p.
            await self.live_pipeline.close()
            config = SimConfig(seed=self.settings.seed, mode=old.bank.mode, amount=self.amount)
            engine = Engine(config, old.bank, 0)
            try:
                engine.claim_ids(CLAIM_BLOCK)  # from the emptied file's counter: T123 again
            except StoreError as exc:
                self.tell(Notice(str(exc), "error", timeout=10))
            engine.attach_twin(old.twin)
            engine.compare = old.compare
            self.use_engine(engine)
        self.tell(Notice(f"bank reset to {rupees(engine.bank.config.opening_balance)}"))
        self.reader.request()
        self.emit(RUNNER)



__all__ = ["BURST", "CONSUMER_CYCLE", "Change", "Notice", "PipeModel", "Session"]
