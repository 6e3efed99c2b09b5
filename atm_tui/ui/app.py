"""The Textual app: opens the engine, paces its virtual clock, renders its events, sends the keys."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from atm_tui.bank.money import rupees
from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.bank.service import Bank, BankSnapshot
from atm_tui.bank.store import StoreConfig, StoreError, Synchronous, _describe, check_path
from atm_tui.paths import home_relative
from atm_tui.sim.compare import NaiveTwin, twin_path
from atm_tui.sim.config import SimConfig
from atm_tui.sim.engine import Engine
from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline import Pipeline, PipelineConfig
from atm_tui.ui.bindings import KEYS
from atm_tui.ui.messages import BankChanged, EngineChanged
from atm_tui.ui.pipeline_view import PipelineModel, PipelinePanel, PipelineToggles
from atm_tui.ui.presenter import BLOCKED, PRESENTER_KEYS, CaptionBar, Presenter
from atm_tui.ui.themes import DEFAULT, PROJECTOR, THEMES
from atm_tui.ui.view import View
from atm_tui.ui.widgets import AtmPane, BankPane, KeyBar, SequenceDiagram, TogglePanel, Toggles, set_text

if TYPE_CHECKING:
    import argparse

    from textual.command import Provider

    from atm_tui.scenarios.player import ScenarioPlayer


def _commands() -> type[Provider]:
    # Loaded when the palette first opens, not at start-up.
    from atm_tui.ui.commands import AtmCommands

    return AtmCommands


def _scenario_commands() -> type[Provider]:
    from atm_tui.ui.commands import ScenarioCommands

    return ScenarioCommands


FRAME_RATE = 20  # redraws a second from engine bursts (keys redraw at once)
BANK_READS_PER_SECOND = 10
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
STORM_SIZE = 100
# Small, so 100 of them fit in a Rs 50,000 account: the storm shows retries and replays, not declines.
STORM_AMOUNT = 100
STORM_FAULTS = {"request_drop": 0.1, "reply_drop": 0.1, "request_duplicate": 0.1}  # 30 % in all
EXIT_STORE = 2
BURST = 20  # messages produced by S in pipeline mode
# Pipeline mode gives these keys a pipeline meaning; the ATM's action is hidden meanwhile.
_PIPELINE_TWINS = {
    "withdraw": "produce", "drop_reply": "lose_ack", "idempotency": "consumer_mode", "storm": "burst",
}  # fmt: skip
_PIPELINE_ACTIONS = {
    "produce", "lose_ack", "consumer_mode", "consumer", "producer_idempotence", "crash_consumer",
    "crash_before_commit", "burst",
}  # fmt: skip
_CONSUMER_CYCLE: dict[str, ConsumerMode] = {
    "naive": "idempotent", "idempotent": "transactional", "transactional": "naive",
}  # fmt: skip


@dataclass(slots=True)
class Settings:
    """Everything the app needs to start. Tests pass a fake wall clock and a fixed path to show."""

    db: str
    fresh: bool = False
    seed: int = 0
    opening_balance: int = 50_000
    synchronous: Synchronous = "normal"
    speed: float = 1.0
    amount: int = 5_000
    shown_db: str | None = None
    screenshot_dir: str | None = None
    wall: Callable[[], float] = field(default=time.monotonic)
    tick: float = 1 / 30
    theme: str = DEFAULT.name
    storm_size: int = STORM_SIZE
    # Presenter mode: a scenario (name or .toml path) played on its own file in scenario_dir.
    scenario: str | None = None
    scenario_seed: int | None = None  # None: the scenario's own seed
    scenario_dir: str | None = None  # default: <data dir>/scenarios
    autoplay: bool = False
    hold: float | None = None  # --hold: seconds every autoplayed step stays; None: timing.py's
    exit_at_end: bool = False  # --exit-at-end: autoplay quits (exit 0) after the last step's hold
    no_animation: bool = False
    player: ScenarioPlayer | None = None  # the export's frames: show this player, do not own it


class AtmApp(App[int]):
    """Three panes (ATM, network, bank) over one engine; the UI renders and never decides."""

    CSS_PATH = "app.tcss"
    TITLE = "atm-tui"
    BINDINGS: ClassVar[list[BindingType]] = [*KEYS, *PRESENTER_KEYS]
    COMMANDS = App.COMMANDS | {_commands, _scenario_commands}
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (80, "-narrow"), (100, "-medium"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-low"), (24, "-short"), (30, "-tall")]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = settings.theme
        self.engine: Engine | None = None
        self.error: str = ""
        self.speed = settings.speed if settings.speed in SPEEDS else 1.0
        self.paused = settings.speed == 0
        self.amount = settings.amount
        self.view = View(max_attempts=3, amount=self.amount)
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = asyncio.Lock()
        self._last_wall = 0.0
        self._virtual = 0.0
        self._engine_dirty = False
        self._bank_dirty = False
        self._bank_reading = False
        self.bank_reads = 0
        self.frames = 0
        self._t0 = 0
        self._twin_wanted = False  # c was pressed and the twin is not open yet
        self._widgets_ready = False
        self._last_render = 0.0
        self._render_scheduled = False
        self._key_render = False
        self._last_bank_read = 0.0
        self._storm_engine: Engine | None = None
        self.store_failures = 0  # transactions the bank's file refused (locked by another program)
        self._store_trouble = ""  # the last such message, until the bank commits again
        self._toggle_rows = 0
        self._pending_bank: list[tuple[str, BankSnapshot, str, str]] = []
        self._keys_enabled: tuple[bool | None, ...] = ()
        self._compare_shown: tuple[bool, ...] = ()
        # Pipeline mode: a log pipeline on the same bank file, opened on the first `p`.
        self.pipeline: Pipeline | None = None
        self.pipeline_mode = False
        self.pipe_model = PipelineModel()
        self._pipe_virtual = 0.0
        self._pipe_unsubscribe: Callable[[], None] | None = None
        self._pipe_opening = False
        self._pipe_pending: list[Callable[[Pipeline], object]] = []
        self.presenter: Presenter | None = None
        if settings.no_animation:
            self.animation_level = "none"

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        yield Static(id="caption")
        yield CaptionBar(id="scenario-caption")
        yield Static("terminal too small: make it 80x24 or larger", id="too-small")
        with Horizontal(id="panes"):
            # Compose order suits the narrow grid; wide layouts dock the ATM left and the banks right.
            yield AtmPane(id="atm")
            with Horizontal(id="banks"):
                yield BankPane("Bank", id="bank")
                yield BankPane("Naive twin", id="twin")
            with _Network(id="network"):
                yield TogglePanel(id="toggles")
                yield SequenceDiagram(self.view, id="diagram")
                yield Static(id="counters")
                with Vertical(id="pipeline"):
                    yield PipelineToggles(id="pipe-toggles")
                    yield PipelinePanel(id="pipe-panel")
        yield KeyBar(KEYS, self._enabled, id="keybar", shown=self._shown)

    @property
    def db_label(self) -> str:
        if self.presenter is not None and not self.settings.shown_db:
            return home_relative(self.presenter.player.db_path)
        return home_relative(self.settings.shown_db or self.settings.db)

    async def on_load(self) -> None:
        # Open SQLite and read the bank before the first paint, so the first frame is complete.
        try:
            if self.settings.scenario or self.settings.player:
                from atm_tui.ui.presenter import start

                await start(self, self.settings.scenario, self.settings.player)
                return
            engine = await self._open()
            self._use_engine(engine)
            await self._read_bank_now()
        except StoreError as exc:
            self.error = str(exc)
        except sqlite3.Error as exc:
            self.error = str(_describe(self.settings.db, exc))

    async def on_mount(self) -> None:
        self.query_one("#network").border_title = "Network"
        if self.error:
            from atm_tui.ui.screens import ErrorScreen

            self.push_screen(ErrorScreen(self.error))
        self._widgets_ready = True
        self._bind_widgets()
        self._last_wall = self.settings.wall()
        self._render_all()
        if self.presenter is not None:
            self.presenter.show()
        self.set_interval(self.settings.tick, self.pace, name="pace")

    async def _open(self) -> Engine:
        s = self.settings
        store = StoreConfig(s.db, opening_balance=s.opening_balance, fresh=s.fresh, synchronous=s.synchronous)
        # The naive twin's file is made on the first c only (_open_twin), never just for opening.
        return await Engine.open(SimConfig(seed=s.seed, amount=self.amount), store, bridge="aiosqlite")

    def _use_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.view = View(max_attempts=engine.config.atm.max_attempts, amount=self.amount)
        self.view.show_twin = engine.compare
        self._unsubscribe = engine.world.subscribe(self._on_event)
        self._virtual = float(engine.now)
        # Times on screen are the engine's own, as stored in the file's `at` columns: a reopened
        # bank's clock goes on from its last stored time, and so does the screen's.
        self._t0 = 0
        if self._widgets_ready:
            self._bind_widgets()

    def _bind_widgets(self) -> None:
        with _teardown_safe():
            self._bind()

    def _bind(self) -> None:
        diagram = self.query_one(SequenceDiagram)
        diagram.view = self.view
        diagram.t0 = self._t0
        for pane, snap, path, mode in self._pending_bank:
            self.query_one(pane, BankPane).show(snap, path, mode)
        self._pending_bank = []

    async def on_unmount(self) -> None:
        if self.presenter is not None:
            await self.presenter.close()
            self.engine = None
        await self._close_pipeline()
        if self.engine is not None:
            await self.engine.close()
            self.engine = None

    # -- the clock -------------------------------------------------------------------------------
    async def pace(self) -> None:
        """Move virtual time on by the wall-clock time since the last call, times the speed."""
        async with self._lock:
            wall = self.settings.wall()
            elapsed, self._last_wall = wall - self._last_wall, wall
            try:
                await self._drive(elapsed)
            except (sqlite3.Error, StoreError) as exc:
                # Another program holds the file: this step's work is lost like a lost message,
                # rolled back, and the clock goes on (the ATM times out and retries the same id).
                self._store_failed(exc)
            self._render_top()

    async def _drive(self, elapsed: float) -> None:
        if self._twin_wanted:
            await self._open_twin()  # before any delivery after the c: the twin gets every one
        presenter = self.presenter
        if presenter is not None:
            # A scenario: its engine or pipeline runs up to the step's end, then waits.
            runner = presenter.runner
            if not self.paused and elapsed > 0:
                if runner is not None:
                    self._virtual = max(self._virtual, float(runner.now)) + elapsed * 1000 * self.speed
                await presenter.advance(int(self._virtual))
            return
        engine = self.engine
        if engine is None:
            return
        pipeline = self.pipeline
        if self.pipeline_mode and pipeline is not None:
            # Only the shown one runs: the other waits, frozen, until it is shown again.
            if not self.paused and elapsed > 0:
                start = max(self._pipe_virtual, float(pipeline.now))
                self._pipe_virtual = start + elapsed * 1000 * self.speed
                target = int(self._pipe_virtual)
                if target > pipeline.now:
                    await pipeline.advance_to(target)
        elif not self.paused and elapsed > 0:
            self._virtual = max(self._virtual, float(engine.now)) + elapsed * 1000 * self.speed
            target = int(self._virtual)
            if target > engine.now:
                await engine.advance_to(target)

    @staticmethod
    def _consumer_failed(pipeline: Pipeline) -> str:
        # Only the consumer writes the file. A consumer whose charge or commit raises dies, as a
        # real one would; its replacement reads again from the committed offset.
        consumer = pipeline.consumer
        if consumer.current is not None:
            pipeline.crash_consumer()
        else:  # joining the group failed: try again after the usual restart delay
            consumer.starting = False
            consumer.schedule_start(consumer.config.restart)
        return "the consumer failed and restarts from its committed offset once the file is free."

    def _store_failed(self, exc: Exception, *, lost: bool = True) -> None:
        """Say on screen that the bank's file refused a transaction, and what to do; the app goes on.

        `lost`: a step of the run failed (a delivery is lost); otherwise only a read of the panes.
        """
        text = str(exc)
        locked = "locked" in text or "busy" in text
        name = Path(self.db_label).name
        if isinstance(exc, StoreError):
            message = caption = text
        elif locked:
            message = (
                f"database {self.db_label} is locked by another program (e.g. a sqlite3 shell holding"
                " a transaction); close it — the ATM retries with the same id (r retries by hand)"
            )
            caption = (
                f"database {name} is locked by another program: the delivery is lost;"
                " close it and the ATM's retry gets through."
            )
        else:
            message = f"database {self.db_label}: {text}; the delivery is lost, the ATM retries"
            caption = f"database {name}: {text}; the delivery is lost."
        if lost:
            self.store_failures += 1
            now = self.engine.now if self.engine is not None else 0
            if self.pipeline_mode and self.pipeline is not None:
                self.pipe_model.caption = f"✕ {caption.split(':')[0]}: {self._consumer_failed(self.pipeline)}"
            else:
                self.view.store_failed(now, caption, "db locked" if locked else "db error")
        if message != self._store_trouble:
            self._store_trouble = message
            self.notify(message, title="bank database", severity="error", timeout=10)
        self._changed()

    async def settle(self, seconds: float) -> None:
        """Tests: pretend `seconds` of wall time passed, run what falls due, and wait for the reads."""
        clock = self.settings.wall
        if isinstance(clock, FakeClock):
            clock.advance(seconds)
        await self.pace()
        while self._bank_reading or self._bank_dirty or self._engine_dirty:
            await asyncio.sleep(0.001)
            if not self._bank_reading and self._bank_dirty:
                self._request_bank()
        await self.workers.wait_for_complete()

    # -- events from the engine ------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:
        view = self.view
        view(ev)
        if view.bank_changed:
            view.bank_changed = False
            self._store_trouble = ""  # the bank commits again: a next lock is news
            self._request_bank()
        if self._storm_engine is not None and not view.storm_running:
            self.call_next(self._storm_over)
        if isinstance(ev, Control):
            # A key was pressed: redraw right after its action has finished changing the engine.
            if not self._key_render:
                self._key_render = True
                self.call_next(self._render_now)
        else:
            self._changed()

    def _on_pipe_event(self, ev: Event) -> None:
        model = self.pipe_model
        model(ev)
        if model.bank_changed:
            model.bank_changed = False
            self._request_bank()
        if isinstance(ev, Control):
            if not self._key_render:
                self._key_render = True
                self.call_next(self._render_now)
        else:
            self._changed()

    def _changed(self) -> None:
        if not self._engine_dirty:
            self._engine_dirty = True
            self.post_message(EngineChanged())

    @on(EngineChanged)
    def _engine_changed(self) -> None:
        # Bursts from the engine redraw at most FRAME_RATE times a second, leaving the loop free
        # for keys; the counters stay exact because they are read at drawing time.
        wait = self._last_render + 1 / FRAME_RATE - time.perf_counter()
        if wait > 0:
            if not self._render_scheduled:
                self._render_scheduled = True
                self.set_timer(wait, self._render_now)
            return
        self._render_now()

    def _render_now(self) -> None:
        self._key_render = False
        self._render_scheduled = False
        self._engine_dirty = False
        self._render_all()

    def _request_bank(self) -> None:
        self._bank_dirty = True
        if not self._bank_reading:
            self._bank_reading = True
            self.post_message(BankChanged())

    @on(BankChanged)
    def _bank_changed(self) -> None:
        self._read_bank()

    @work(group="bank", exit_on_error=False)
    async def _read_bank(self) -> None:
        """Read the bank (and the twin) back from SQLite; one read covers every commit before it."""
        try:
            while self._bank_dirty and self._bank_source() is not None:
                # At most BANK_READS_PER_SECOND reads; one read covers every commit before it.
                wait = self._last_bank_read + 1 / BANK_READS_PER_SECOND - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_bank_read = time.perf_counter()
                self._bank_dirty = False
                await self._read_bank_now()
                self._bind_widgets()
        except (sqlite3.Error, StoreError) as exc:
            self._store_failed(exc, lost=False)
        finally:
            self._bank_reading = False

    @property
    def shown_pipeline(self) -> Pipeline | None:
        """The pipeline the pipeline view draws: a pipeline scenario's, or the live one (`p`)."""
        if self.presenter is not None:
            return self.presenter.pipeline
        return self.pipeline

    def _bank_source(self) -> Bank | None:
        """The bank the bank pane reads: the engine's, or a pipeline scenario's (it has no engine)."""
        if self.engine is not None:
            return self.engine.bank
        return self.presenter.pipeline.bank if self.presenter and self.presenter.pipeline else None

    async def _read_bank_now(self) -> None:
        engine = self.engine
        bank = self._bank_source()
        if bank is None:
            return
        # In pipeline mode the charges land in the same tables; the subtitle names the consumer.
        mode: str = bank.mode
        pipeline = self.shown_pipeline
        if self.pipeline_mode and pipeline is not None:
            mode = f"consumer: {pipeline.config.consumer}"
        pending: list[tuple[str, BankSnapshot, str, str]] = [
            ("#bank", await bank.snapshot(), self.db_label, mode)
        ]
        twin = engine.twin if engine is not None else None
        if twin is not None:
            pending.append(("#twin", await twin.snapshot(), twin_path(self.db_label), "naive"))
        self.bank_reads += 1
        self._pending_bank = pending

    # -- drawing ---------------------------------------------------------------------------------
    def _update(self, selector: str, text: Text) -> None:
        set_text(self.query_one(selector, Static), text)

    def _render_top(self) -> None:
        with _teardown_safe():
            self._draw_top()

    def _draw_top(self) -> None:
        engine = self.engine
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" atm-tui ", style="bold reverse")
        top.append(" exactly-once = at-least-once delivery + idempotent processing  ")
        if self.paused:
            top.append(" ⏸ PAUSED ", style="bold reverse")
        else:
            top.append(f" ▶ {self.speed:g}x ", style="bold")
        pipeline = self.shown_pipeline
        if self.pipeline_mode and pipeline is not None:
            top.append(f"  pipeline t {(pipeline.now - self.pipe_model.t0) / 1000:.1f} s")
        elif engine is not None:
            top.append(f"  t {(engine.now - self._t0) / 1000:.1f} s")
        self._update("#topbar", top)
        # Every tick, as a resize may cross a breakpoint: the compare layout is set per breakpoint.
        self._show_compare(engine is not None and engine.compare)

    def _render_all(self) -> None:
        with _teardown_safe():
            self._draw_all()

    def _draw_all(self) -> None:
        self._last_render = time.perf_counter()
        self.frames += 1
        engine = self.engine
        view = self.view
        self._render_top()
        caption = view.caption or "Press w to withdraw. h drops the next reply. ? lists every key."
        if self.pipeline_mode:
            caption = self.pipe_model.caption
            self._draw_pipeline()
        self._update("#caption", Text("» " + caption, overflow="ellipsis"))
        self.query_one(AtmPane).show(view, self.amount)
        toggles = self.query_one(TogglePanel)
        if engine is not None:
            net = engine.network
            toggles.state = Toggles(
                net.reply.drop_next, net.request.drop_next, net.request.duplicate_next, net.reply.drop_all,
                engine.config.atm.auto_retry, engine.bank.mode, engine.compare,
                net.request.config.drop, net.reply.config.drop, net.request.config.duplicate,
                engine.server.crash_in_gap,
            )
        rows = toggles.get_content_height(self.size, self.size, toggles.size.width)
        toggles.refresh(layout=rows != self._toggle_rows)
        self._toggle_rows = rows
        self.query_one(SequenceDiagram).refresh()
        c = view.tally.counts
        counters = Text(overflow="fold")
        counters.append(
            f"attempts {c['attempts']} · delivered {c['deliveries']} · replays {c['replayed']}"
            f" · lost {c['requests_dropped'] + c['replies_dropped']} · dup {c['duplicated']}"
            f" · cash {c['dispensed']} · unknown {len(view.unknown)}"
        )
        if view.resolved:
            counters.append(f" · resolved {view.resolved}")
        if self.store_failures:
            counters.append(f" · db refused {self.store_failures}", style="bold")
        self._update("#counters", counters)
        bar = self.query_one(KeyBar)
        enabled = tuple(self._key_state(b.action) for b in bar.keys)  # presenter mode lists its own
        if enabled != self._keys_enabled:
            self._keys_enabled = enabled
            bar.states = {b.action: state for b, state in zip(bar.keys, enabled, strict=True)}
            bar.refresh(layout=True)  # a mode switch can change how many keys are listed

    def _show_compare(self, on: bool) -> None:
        """Show or hide the naive twin. Wide and medium: the twin's display and two widths, set
        directly; a class on #panes would re-match the CSS of every widget in every pane, the
        slowest part of `c`. Narrow: the grid changes shape, so the class does it."""
        screen = self.screen_stack[0]
        narrow = screen.has_class("-narrow")
        medium = screen.has_class("-medium")
        state = (on, narrow, medium, self.pipeline_mode)
        if state == self._compare_shown:
            return
        self._compare_shown = state
        twin_shown = on and not self.pipeline_mode
        self.query_one("#panes").set_class(twin_shown and narrow, "-compare")
        self.query_one("#twin").styles.display = "block" if twin_shown else "none"
        for deliveries in self.query(".bank-deliveries"):
            deliveries.styles.display = "none" if twin_shown else None
        banks, atm = self.query_one("#banks"), self.query_one(AtmPane)
        if twin_shown and not narrow:
            banks.styles.width = 44 if medium else 50
            atm.styles.width = 20 if medium else 24
        else:
            banks.styles.width = None
            atm.styles.width = None

    def _draw_pipeline(self) -> None:
        network = self.query_one("#network")
        for widget in (self.query_one(PipelineToggles), self.query_one(PipelinePanel)):
            widget.pipeline = self.shown_pipeline
        panel = self.query_one(PipelinePanel)
        panel.model = self.pipe_model
        toggles = self.query_one(PipelineToggles)
        rows = toggles.get_content_height(self.size, self.size, toggles.size.width)
        toggles.refresh(layout=rows != getattr(toggles, "_atm_rows", None))
        toggles._atm_rows = rows  # type: ignore[attr-defined]
        panel.refresh()
        network.border_title = "Pipeline: payments log → consumer → bank"

    def _show_mode(self) -> None:
        network = self.query_one("#network")
        network.set_class(self.pipeline_mode, "-pipeline")
        self.query_one("#panes").set_class(self.pipeline_mode, "-pipeline")
        if not self.pipeline_mode:
            network.border_title = "Network"

    # -- keys ------------------------------------------------------------------------------------
    def _enabled(self, action: str) -> bool:
        return self.check_action(action, ()) is True

    def _shown(self, action: str) -> bool:
        return self._key_state(action) is not False

    def _key_state(self, action: str) -> bool | None:
        """check_action for the key bar: the split-mode crash key is left out of it elsewhere."""
        state = self.check_action(action, ())
        return False if action == "crash_gap" and state is None else state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quit", "help", "screenshot", "projector", "command_palette"):
            return True
        if action in ("next_step", "previous_step"):
            return True if self.presenter is not None else False
        if self.presenter is not None:
            if action == "pipeline" or action in _PIPELINE_ACTIONS:
                return False  # the scenario owns the screen; the pipeline view is for a live run
            # The story is on file: a key that adds to it would make it another story.
            return None if action in BLOCKED else True
        if self.engine is None:
            return None if action in _ACTIONS or action in ("pipeline", "consumer") else True
        if action == "pipeline":
            return None if self._pipe_opening else True
        if action in _PIPELINE_ACTIONS:
            # False hides a pipeline key whose letter means something else in the ATM view.
            if not self.pipeline_mode:
                return False if action in _PIPELINE_TWINS.values() else None
            if self.pipeline is None:
                return True if self._pipe_opening else None  # typed ahead: run once it is open
            if action == "crash_consumer" and self.pipeline.consumer.current is None:
                return None
            return True
        if self.pipeline_mode and action in _ATM_ACTIONS:
            # The ATM's keys: hidden where the pipeline reuses the letter, greyed otherwise.
            return False if action in _PIPELINE_TWINS else None
        if action == "crash_gap" and self.engine.bank.mode != "split":
            return None  # one transaction has no gap to crash in
        if action in ("status", "retry") and self.engine.atm.last is None:
            return None
        return True

    # -- pipeline mode ---------------------------------------------------------------------------
    def action_pipeline(self) -> None:
        if self.pipeline is None:
            if not self._pipe_opening:
                # Pipeline mode at once: keys pressed while it opens are greyed, never the ATM's.
                self._pipe_opening = True
                self.pipeline_mode = True
                self._switched()
                self.open_pipeline()
            return
        self.pipeline_mode = not self.pipeline_mode
        self._switched()

    def _switched(self) -> None:
        # Each clock starts again from now, so the hidden one did not run meanwhile.
        self._last_wall = self.settings.wall()
        with _teardown_safe():
            self._show_mode()
        self._request_bank()
        self._render_now()

    @work(exclusive=True, group="pipeline", exit_on_error=False)
    async def open_pipeline(self) -> None:
        """Open a Pipeline on the bank's file (its own aiosqlite connection) and start it, empty."""
        s = self.settings
        store = StoreConfig(s.db, opening_balance=s.opening_balance, fresh=False, synchronous=s.synchronous)
        try:
            async with self._lock:
                config = PipelineConfig(seed=s.seed, messages=0)
                pipeline = await Pipeline.open(config, store, bridge="aiosqlite")
                self.pipe_model = PipelineModel(0)  # the pipeline's clock as stored, like the ATM's
                self._pipe_unsubscribe = pipeline.subscribe(self._on_pipe_event)
                self._pipe_virtual = float(pipeline.now)
                self.pipeline = pipeline
                pipeline.start(0)
                pending, self._pipe_pending = self._pipe_pending, []
                for call in pending:
                    call(pipeline)
        except (sqlite3.Error, StoreError) as exc:
            self.notify(f"pipeline not opened: {exc}", severity="error", timeout=10)
            self.pipeline_mode = False
            self._pipe_pending = []
            return
        finally:
            self._pipe_opening = False
            self._switched()

    async def _leave_pipeline(self) -> None:
        """Close the pipeline and show the ATM's panes again (a scenario is about to take the screen)."""
        async with self._lock:
            await self._close_pipeline()
        if self.pipeline_mode:
            self.pipeline_mode = False
            with _teardown_safe():
                self._show_mode()

    async def _close_pipeline(self) -> None:
        pipeline, self.pipeline = self.pipeline, None
        if self._pipe_unsubscribe is not None:
            self._pipe_unsubscribe()
            self._pipe_unsubscribe = None
        if pipeline is not None:
            await pipeline.close()

    def _on_pipeline(self, call: Callable[[Pipeline], object]) -> None:
        """One Pipeline call per key; keys typed while the pipeline opens run, in order, once it is open."""
        if self.pipeline is not None:
            call(self.pipeline)
        elif self._pipe_opening:
            self._pipe_pending.append(call)

    def action_produce(self) -> None:
        self._on_pipeline(lambda p: p.produce(1))

    def action_burst(self) -> None:
        self._on_pipeline(lambda p: p.produce(BURST))

    def action_lose_ack(self) -> None:
        self._on_pipeline(lambda p: p.lose_next_acks(1))

    def action_crash_consumer(self) -> None:
        self._on_pipeline(lambda p: p.crash_consumer())

    def action_crash_before_commit(self) -> None:
        self._on_pipeline(lambda p: p.crash_before_next_commits(1))

    def action_consumer_mode(self) -> None:
        self._on_pipeline(lambda p: p.set_consumer_mode(_CONSUMER_CYCLE[p.config.consumer]))
        self._request_bank()

    def action_consumer(self, mode: str) -> None:
        if mode in _CONSUMER_CYCLE:
            self._on_pipeline(lambda p: p.set_consumer_mode(mode))  # type: ignore[arg-type]
            self._request_bank()

    def action_producer_idempotence(self) -> None:
        # Kafka reads enable.idempotence when the producer starts, so the service restarts with it.
        def restart(p: Pipeline) -> None:
            p.set_producer_idempotent(not p.config.producer_idempotent)
            p.restart_producer()

        self._on_pipeline(restart)

    def action_withdraw(self) -> None:
        if self.engine is not None:
            self.engine.withdraw(self.amount)

    def action_amount(self) -> None:
        from atm_tui.ui.screens import AmountScreen

        def chosen(value: int | None) -> None:
            if value is not None:
                self.amount = value
                if self.engine is not None:
                    self.engine.config.amount = value
                self.view.welcome(value)
                self.notify(f"amount: {rupees(value)}", timeout=3)
                self.say(f"Amount set to {rupees(value)}: the next w withdraws it under a new id.")

        self.push_screen(AmountScreen(self.amount), chosen)

    def action_balance(self) -> None:
        if self.engine is not None:
            self.engine.balance_inquiry()

    def action_status(self) -> None:
        if self.engine is not None:
            self.engine.status_query()

    def action_retry(self) -> None:
        if self.engine is not None and not self.engine.retry_now():
            last = self.engine.atm.last
            if last is not None:
                self.notify(f"{last.txn_id} is finished ({last.outcome}); nothing to retry", timeout=4)

    def action_drop_reply(self) -> None:
        if self.engine is not None:
            self.engine.drop_next_replies(1)

    def action_drop_request(self) -> None:
        if self.engine is not None:
            self.engine.drop_next_requests(1)

    def action_duplicate(self) -> None:
        if self.engine is not None:
            self.engine.duplicate_next_requests(1)

    def action_drop_all(self) -> None:
        if self.engine is not None:
            self.engine.set_drop_all_replies(not self.engine.network.reply.drop_all)

    def action_auto_retry(self) -> None:
        if self.engine is not None:
            self.engine.set_auto_retry(not self.engine.config.atm.auto_retry)

    def action_idempotency(self) -> None:
        if self.engine is not None:
            self.engine.set_mode("naive" if self.engine.bank.mode == "idempotent" else "idempotent")
            self._request_bank()

    def action_crash_gap(self) -> None:
        # Split mode commits the debit, then stores the key in a second transaction: die in between.
        if self.engine is not None and self.engine.bank.mode == "split":
            self.engine.crash_in_gap(1)

    def action_compare(self) -> None:
        engine = self.engine
        if engine is None:
            return
        if engine.twin is None:
            # The first c: open the twin, then turn compare mode on (pace will not move the clock
            # before it is open, so it misses no delivery).
            if not self._twin_wanted:
                self._twin_wanted = True
                self.open_twin()
            return
        engine.set_compare(not engine.compare)
        # The twin's pane is kept current while hidden, so showing it needs no read.
        self.view.show_twin = engine.compare

    @work(exclusive=True, group="twin", exit_on_error=False)
    async def open_twin(self) -> None:
        async with self._lock:
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
            self.notify(f"compare mode is off: {exc}", severity="warning", timeout=8)
            return
        engine.attach_twin(twin)
        engine.set_compare(True)
        self.view.show_twin = True
        self._request_bank()

    def say(self, caption: str) -> None:
        """Put the app's own caption (not the engine's) on the caption line of the view shown."""
        if self.pipeline_mode:
            self.pipe_model.caption = caption
        else:
            self.view.caption = caption
        self._render_now()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._last_wall = self.settings.wall()
        if self.paused:
            self.say("Paused: the virtual clock stands still; space runs it again.")
        else:
            self.say(f"Running again at {self.speed:g}x.")

    def action_faster(self) -> None:
        self._set_speed(+1)

    def action_slower(self) -> None:
        self._set_speed(-1)

    def _set_speed(self, step: int) -> None:
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + step))]
        end = {SPEEDS[0]: " (the slowest)", SPEEDS[-1]: " (the fastest)"}.get(self.speed, "")
        self.say(f"Speed {self.speed:g}x{end}: each second on the wall clock runs {self.speed:g} s of"
                 " the network's virtual time.")

    def action_storm(self) -> None:
        engine = self.engine
        if engine is None:
            return
        if self.view.storm_running:
            self.notify("a storm is already running", timeout=3)
            return
        n = self.settings.storm_size
        for name, p in STORM_FAULTS.items():
            direction, what = name.split("_")
            engine.set_rate(direction, what, p)
        self.view.start_storm(n, STORM_AMOUNT)
        self._storm_engine = engine
        for _ in range(n):
            self.view.add_storm_id(engine.withdraw(STORM_AMOUNT))
        self.view.storm_sent()
        self._changed()

    def _storm_over(self) -> None:
        # The storm's random faults end with it, as a teacher would switch them off.
        engine, self._storm_engine = self._storm_engine, None
        if engine is not None and engine is self.engine:
            for name in STORM_FAULTS:
                direction, what = name.split("_")
                engine.set_rate(direction, what, 0.0)

    def action_reset(self) -> None:
        from atm_tui.ui.screens import ConfirmScreen

        if self.engine is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.reset_bank()

        self.push_screen(
            ConfirmScreen(
                f"Reset the bank to {rupees(self.engine.bank.config.opening_balance)}?\n"
                f"Every ledger row, key and delivery in {self.db_label} is deleted."
            ),
            answered,
        )

    @work(exclusive=True, group="reset", exit_on_error=False)
    async def reset_bank(self) -> None:
        """Empty the bank (Bank.reset) and the twin, and start a new run of the engine from T123."""
        async with self._lock:
            old = self.engine
            if old is None:
                return
            if self._unsubscribe is not None:
                self._unsubscribe()
            try:
                await old.bank.reset()
                if old.twin is not None:
                    await old.twin.reset(old.bank.config.opening_balance)
            except StoreError as exc:
                self.notify(str(exc), severity="error", timeout=10)
                return
            # The pipeline's log and offsets belong to the emptied file: it opens afresh on the next p.
            await self._close_pipeline()
            config = SimConfig(seed=self.settings.seed, mode=old.bank.mode, amount=self.amount)
            engine = Engine(config, old.bank, 0)
            engine.attach_twin(old.twin)
            engine.compare = old.compare
            self._use_engine(engine)
        self.notify(f"bank reset to {rupees(engine.bank.config.opening_balance)}", timeout=4)
        self._request_bank()
        self._changed()

    def action_mode(self, mode: str) -> None:
        if self.engine is not None and mode in ("idempotent", "naive", "split"):
            self.engine.set_mode(mode)  # type: ignore[arg-type]
            self._request_bank()

    def action_projector(self) -> None:
        self.theme = DEFAULT.name if self.theme == PROJECTOR.name else PROJECTOR.name
        if self.theme == PROJECTOR.name:
            self.say("Projector theme: high contrast, white on black with yellow accents. t switches back.")
        else:
            self.say("Default theme. t switches to the high-contrast projector theme.")

    def action_help(self) -> None:
        from atm_tui.ui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        folder = Path(path or self.settings.screenshot_dir or _data_dir() / "screenshots")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = filename or f"atm-tui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
            saved = self.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return
        self.notify(f"screenshot saved: {saved}", timeout=8)

    # -- presenter mode ---------------------------------------------------------------------------
    def action_next_step(self) -> None:
        self.presenter_next()

    def action_previous_step(self) -> None:
        self.presenter_back()

    @work(group="presenter", exit_on_error=False)
    async def presenter_next(self) -> None:
        if self.presenter is not None:
            await self.presenter.next()

    @work(group="presenter", exit_on_error=False)
    async def presenter_back(self) -> None:
        if self.presenter is not None:
            await self.presenter.back()

    @work(group="presenter", exit_on_error=False)
    async def play_scenario(self, name: str) -> None:
        """Leave what is on screen and play scenario `name` (the palette's "Scenario: ...")."""
        from atm_tui.ui.presenter import switch

        await self._leave_pipeline()
        await switch(self, name)

    @work(group="presenter", exit_on_error=False)
    async def leave_scenario(self) -> None:
        """Back from a scenario to the bank the app was started on (the palette)."""
        from atm_tui.ui.presenter import leave

        await leave(self)

    def on_key(self, event: events.Key) -> None:
        # A refused key (greyed out) reaches here: say why nothing happened.
        if self.presenter is not None:
            self.presenter.explain(event.key)
        elif event.key == "x" and self.check_action("crash_gap", ()) is None and self.engine is not None:
            self.notify(
                "x crashes the bank between the debit and storing the key, which only split mode has"
                " (ctrl+p, Bank mode: split). In one transaction there is no gap.",
                timeout=5,
            )

    def get_system_commands(self, screen: Screen) -> list[SystemCommand]:
        # Our own provider lists every key (Quit too); keep Textual's theme and keys entries beside it.
        return [c for c in super().get_system_commands(screen) if c.title in ("Theme", "Keys")]


@contextmanager
def _teardown_safe() -> Iterator[None]:
    # Timers and workers can still fire while the app shuts down and its widgets are removed.
    try:
        yield
    except NoMatches:
        pass


class _Network(Static):
    """The network pane's frame."""


_ACTIONS = {b.action for b in KEYS}
# The ATM view's own actions (the palette's bank modes too); the clock keys serve both views.
_ATM_ACTIONS = (_ACTIONS | {"mode"}) - _PIPELINE_ACTIONS - {"pipeline", "pause", "faster", "slower"}


class FakeClock:
    """A wall clock that moves only when told: tests and recordings pace the engine with it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("atm-tui"))


def default_db() -> str:
    """The persistent bank in the user's data folder (created if missing)."""
    folder = _data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "bank.db")


def run(args: argparse.Namespace) -> int:
    """`atm-tui` with no sub-command: open the app on the chosen (or the default) database."""
    scenario = getattr(args, "scenario", None)
    seed = getattr(args, "seed", None)
    if scenario is None and getattr(args, "autoplay", False):
        sys.stderr.write("atm-tui: error: --autoplay plays a scenario; add --scenario NAME\n")
        return EXIT_STORE
    scenario_db = _scenario_db(args, scenario) if scenario else ""
    db = _live_db(args)
    for checked in (scenario_db, db):
        if checked.startswith("atm-tui: error: "):
            sys.stderr.write(checked + "\n")
            return EXIT_STORE
    settings = Settings(
        db=db,
        fresh=bool(getattr(args, "fresh", False)),
        seed=0 if seed is None else int(seed),
        opening_balance=int(getattr(args, "opening_balance", 50_000)),
        synchronous=getattr(args, "synchronous", "normal"),
        scenario=scenario,
        scenario_seed=seed,
        scenario_dir=str(Path(scenario_db).parent) if scenario else None,
        autoplay=bool(getattr(args, "autoplay", False)),
        hold=getattr(args, "hold", None),
        exit_at_end=bool(getattr(args, "exit_at_end", False)),
        no_animation=bool(getattr(args, "no_animation", False)),
    )
    app = AtmApp(settings)
    code = app.run()
    if app.error:
        sys.stderr.write(f"atm-tui: error: {app.error}\n")
        return EXIT_STORE
    # Textual prints an unexpected exception's traceback and sets return_code; never exit 0 then.
    return code or app.return_code or 0


def _live_db(args: argparse.Namespace) -> str:
    """The bank file to explore, checked; or the one-line error (prefixed "atm-tui: error: ")."""
    try:
        db = args.db or default_db()
    except OSError as exc:
        return f"atm-tui: error: data folder {_data_dir()}: {exc.strerror or exc}; use --db PATH"
    try:
        # A wrong path fails here, in one line, before the screen is taken over; a locked or
        # corrupt file is found on opening and shown on screen (and repeated here on exit).
        check_path(db)
    except StoreError as exc:
        return f"atm-tui: error: {exc}"
    return db


def _scenario_db(args: argparse.Namespace, name: str) -> str:
    """A scenario's own file, <data dir>/scenarios/<name>.db: the player empties it on every run."""
    from atm_tui.scenarios.loader import ScenarioError, load

    if getattr(args, "db", None):
        return (
            "atm-tui: error: --db with --scenario: a scenario plays on its own file (it is emptied"
            " on every step back), never on your bank; leave --db out"
        )
    try:
        scenario = load(name)
        folder = _data_dir() / "scenarios"
        folder.mkdir(parents=True, exist_ok=True)
        db = str(folder / f"{scenario.name}.db")
        check_path(db)
    except ScenarioError as exc:
        return f"atm-tui: error: {exc}"
    except OSError as exc:
        return f"atm-tui: error: data folder {_data_dir()}: {exc.strerror or exc}"
    except StoreError as exc:
        return f"atm-tui: error: {exc}"
    return db
