"""The screen every mode shares: top bar, caption, the panes, the key bar, and the keys of the clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from atm_tui.ui.bindings import ALWAYS, BLOCKED, KEY_ACTIONS, PIPELINE_ACTIONS
from atm_tui.ui.caption_bar import CaptionBar
from atm_tui.ui.session import Session
from atm_tui.ui.themes import DEFAULT, PROJECTOR
from atm_tui.ui.widgets import BankPane, KeyBar, set_text

DEFAULT_THEME, PROJECTOR_THEME = DEFAULT.name, PROJECTOR.name


@contextmanager
def teardown_safe() -> Iterator[None]:
    # Timers and workers can still fire while the app shuts down and its widgets are removed.
    try:
        yield
    except NoMatches:
        pass


class Network(Static):
    """The network pane's frame."""


class PanesScreen(Screen[None]):
    """Top bar, caption line, ATM and bank panes, the network pane and the key bar over one Session.

    Subclasses say what the network pane holds, which keys are bound (`BAR` is the key bar's
    list) and which are live (`key_state`).
    """

    BAR: ClassVar[list[Binding]] = []
    NETWORK_TITLE = "Network"
    PIPELINE_VIEW = False  # the log pipeline instead of the ATM and the sequence diagram
    SCENARIO = False

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._shown_snapshots = -1
        self._keys_enabled: tuple[bool | None, ...] = ()

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        mode = "-pipeline" if self.PIPELINE_VIEW else ""
        yield Static(id="topbar")
        yield Static(id="caption")
        yield CaptionBar(id="scenario-caption")
        yield Static("terminal too small: make it 80x24 or larger", id="too-small")
        with Horizontal(id="panes", classes=mode):
            # Compose order suits the narrow grid; wide layouts dock the ATM left and the banks right.
            yield from self.atm_column()
            with Horizontal(id="banks"):
                yield BankPane("Bank", id="bank")
                yield BankPane("Naive twin", id="twin")
            with Network(id="network", classes=mode):
                yield from self.network_body()
        yield KeyBar(self.BAR, self._enabled, id="keybar", shown=self._shown)

    def atm_column(self) -> ComposeResult:
        yield from ()

    def network_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#network").border_title = self.NETWORK_TITLE
        if self.SCENARIO:
            self.query_one("#caption").display = False
            self.query_one(CaptionBar).display = True
        self.draw()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.draw()

    # -- drawing ---------------------------------------------------------------------------------
    def update(self, selector: str, text: Text) -> None:
        set_text(self.query_one(selector, Static), text)

    def draw_top(self) -> None:
        with teardown_safe():
            self._draw_top()

    def _draw_top(self) -> None:
        s = self.session
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" atm-tui ", style="bold reverse")
        top.append(" exactly-once = at-least-once delivery + idempotent processing  ")
        if s.pacer.paused:
            top.append(" ⏸ PAUSED ", style="bold reverse")
        else:
            top.append(f" ▶ {s.pacer.speed:g}x ", style="bold")
        top.append(self.clock_text())
        self.update("#topbar", top)

    def clock_text(self) -> str:
        engine = self.session.engine
        return f"  t {(engine.now - self.session.t0) / 1000:.1f} s" if engine is not None else ""

    def draw(self) -> None:
        """Redraw everything from the Session's models and the last bank snapshots."""
        with teardown_safe():
            self.show_banks()
            self._draw_top()
            self.update("#caption", Text("» " + self.caption_text(), overflow="ellipsis"))
            self.draw_panes()
            self.show_presenter()
            self._draw_keys()

    def caption_text(self) -> str:
        return ""

    def draw_panes(self) -> None:
        """The mode's own panes."""

    def show_banks(self) -> None:
        s = self.session
        if s.snapshot_count == self._shown_snapshots:
            return
        with teardown_safe():
            for pane, snap, path, mode in s.snapshots:
                self.query_one(pane, BankPane).show(snap, path, mode)
            self._shown_snapshots = s.snapshot_count

    def show_presenter(self) -> None:
        presenter = self.session.presenter
        if not self.SCENARIO or presenter is None:
            return
        with teardown_safe():
            p = presenter
            self.query_one(CaptionBar).show_state(p.scenario.title, p.counter, p.caption, p.state, p.words)

    def _draw_keys(self) -> None:
        bar = self.query_one(KeyBar)
        enabled = tuple(self.key_state(b.action) for b in bar.keys)
        if enabled != self._keys_enabled:
            self._keys_enabled = enabled
            bar.states = {b.action: state for b, state in zip(bar.keys, enabled, strict=True)}
            bar.refresh(layout=True)  # a mode switch can change how many keys are listed

    # -- keys ------------------------------------------------------------------------------------
    def _enabled(self, action: str) -> bool:
        return self.check_action(action, ()) is True

    def _shown(self, action: str) -> bool:
        return self.key_state(action) is not False

    def key_state(self, action: str) -> bool | None:
        """check_action for the key bar: the split-mode crash key is left out of it elsewhere."""
        state = self.check_action(action, ())
        return False if action == "crash_gap" and state is None else state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ALWAYS:
            return True
        if self.SCENARIO:
            return scenario_state(action)
        if action in ("next_step", "previous_step"):
            return False
        if action in ("pause", "faster", "slower"):
            return None if self.session.engine is None else True
        return self.live_state(action)

    def live_state(self, action: str) -> bool | None:
        return False

    def on_key(self, event: events.Key) -> None:
        # A refused key (greyed out, or not bound in a scenario) reaches here: say why nothing happened.
        if self.SCENARIO:
            action = KEY_ACTIONS.get(event.key)
            if action in BLOCKED or action in PIPELINE_ACTIONS or action == "pipeline":
                self.notify(
                    f"{event.key} is off while a scenario plays: it would change the story on file. To try"
                    " it on your own bank, leave the scenario (ctrl+p, Scenario: leave it).",
                    timeout=5,
                )

    # -- the keys every mode has -------------------------------------------------------------------
    def action_pause(self) -> None:
        s = self.session
        if s.pacer.toggle_pause():
            s.say("Paused: the virtual clock stands still; space runs it again.")
        else:
            s.say(f"Running again at {s.pacer.speed:g}x.")

    def action_faster(self) -> None:
        self._set_speed(+1)

    def action_slower(self) -> None:
        self._set_speed(-1)

    def _set_speed(self, step: int) -> None:
        pacer = self.session.pacer
        speed = pacer.step_speed(step)
        end = {0.25: " (the slowest)", 4.0: " (the fastest)"}.get(speed, "")
        self.session.say(f"Speed {speed:g}x{end}: each second on the wall clock runs {speed:g} s of"
                         " the network's virtual time.")

    def action_projector(self) -> None:
        app = self.app
        app.theme = DEFAULT_THEME if app.theme == PROJECTOR_THEME else PROJECTOR_THEME
        if app.theme == PROJECTOR_THEME:
            self.session.say(
                "Projector theme: high contrast, white on black with yellow accents. t switches back."
            )
        else:
            self.session.say("Default theme. t switches to the high-contrast projector theme.")

    def action_help(self) -> None:
        from atm_tui.ui.screens import HelpScreen

        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen(self))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        from atm_tui.ui.launch import data_dir

        folder = Path(path or self.session.settings.screenshot_dir or data_dir() / "screenshots")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = filename or f"atm-tui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
            saved = self.app.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return
        self.notify(f"screenshot saved: {saved}", timeout=8)

    def action_pipeline(self) -> None:
        if self.session.toggle_pipeline():
            self.app.run_worker(self.session.open_pipeline(), group="pipeline", exclusive=True,
                                exit_on_error=False)

    def action_next_step(self) -> None:
        self.app.run_worker(self.session.next_step(), group="presenter", exit_on_error=False)

    def action_previous_step(self) -> None:
        self.app.run_worker(self.session.previous_step(), group="presenter", exit_on_error=False)


def scenario_state(action: str) -> bool | None:
    """A scenario plays: the story's keys are greyed, the live pipeline's are hidden."""
    if action in ("next_step", "previous_step"):
        return True
    if action == "pipeline" or action in PIPELINE_ACTIONS:
        return False  # the scenario owns the screen; the pipeline view is for a live run
    # The story is on file: a key that adds to it would make it another story.
    return None if action in BLOCKED else True
