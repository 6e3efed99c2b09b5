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
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from atm_tui.paths import data_dir, home_relative
from atm_tui.ui.core.session import Change, Session
from atm_tui.ui.core.session_events import BANKS, PRESENTER
from atm_tui.ui.core.shown import Shown
from atm_tui.ui.models.captions import name_keys
from atm_tui.ui.screens.bindings import ALWAYS, shown_keys
from atm_tui.ui.themes import DEFAULT, PROJECTOR
from atm_tui.ui.widgets.bank_pane import SHORT_SCREEN, BankPane
from atm_tui.ui.widgets.caption_bar import CaptionBar
from atm_tui.ui.widgets.key_bar import KeyBar
from atm_tui.ui.widgets.text import set_text

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

    Subclasses say what the network pane holds, which keys they have (their own `BINDINGS`, read
    by the key bar, the help and the palette) and why a key is off (`why_off`). Intents go to the
    Session; what is drawn comes back as the models a change carries (`Shown`), and each widget
    is given its part of them.
    """

    # Actions of this screen that no key is bound to (the palette's parametrised ones).
    EXTRA_ACTIONS: ClassVar[tuple[str, ...]] = ()
    # A scenario's screen: the live screen's keys, refused while the story plays, and whether they
    # are listed greyed (None) or are not keys of the scenario at all (False).
    LIVE_KEYS: ClassVar[list[BindingType]] = []
    LIVE_STATE: bool | None = None
    NETWORK_TITLE = "Network"
    PIPELINE_VIEW = False  # the log pipeline instead of the ATM and the sequence diagram
    SCENARIO = False

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._shown_snapshots = -1
        self._keys_enabled: tuple[bool | None, ...] = ()
        # Action -> key as the key bar writes it: fixed by the screen's class, so built once (every
        # frame's caption names keys through it).
        self._key_names = {
            b.action: b.key_display or b.key for b in [*shown_keys(self.LIVE_KEYS), *self.keys()]
        }

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
        yield KeyBar(self.keys(), self._enabled, id="keybar", shown=self._shown)

    def atm_column(self) -> ComposeResult:
        yield from ()

    def network_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#network").border_title = self.NETWORK_TITLE
        if self.SCENARIO:
            self.query_one("#caption").display = False
            self.query_one(CaptionBar).display = True
        self.draw(self.session.shown)

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.draw(self.session.shown)

    def on_resize(self) -> None:
        # On a short screen the bank panes list the ledger before the keys.
        short = self.size.height < SHORT_SCREEN
        for pane in self.query(BankPane):
            pane.short = short

    # -- drawing ---------------------------------------------------------------------------------
    def update(self, selector: str, text: Text) -> None:
        set_text(self.query_one(selector, Static), text)

    def draw_top(self, shown: Shown) -> None:
        with teardown_safe():
            self._draw_top(shown)

    def _draw_top(self, shown: Shown) -> None:
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" atm-tui ", style="bold reverse")
        top.append(" exactly-once = at-least-once delivery + idempotent processing  ")
        if shown.paused:
            top.append(" ⏸ PAUSED ", style="bold reverse")
        else:
            top.append(f" ▶ {shown.speed:g}x ", style="bold")
        top.append(self.clock_text(shown))
        self.update("#topbar", top)

    def clock_text(self, shown: Shown) -> str:
        return shown.clock

    def show(self, change: Change) -> None:
        """A change that redraws only a part: the bank panes, or the scenario's caption bar."""
        if change.kind == BANKS:
            self.show_banks(change.shown)
        elif change.kind == PRESENTER:
            self.show_presenter(change.shown)
            self.draw_top(change.shown)

    def draw(self, shown: Shown) -> None:
        """Redraw everything from the models (`shown`) and the last bank snapshots."""
        with teardown_safe():
            self.show_banks(shown)
            self._draw_top(shown)
            caption = name_keys(self.caption_text(shown), self.key_names())
            self.update("#caption", Text("» " + caption, overflow="ellipsis"))
            self.draw_panes(shown)
            self.show_presenter(shown)
            self._draw_keys()

    def caption_text(self, shown: Shown) -> str:
        return ""

    def draw_panes(self, shown: Shown) -> None:
        """The mode's own panes."""

    def show_banks(self, shown: Shown) -> None:
        if shown.snapshot_count == self._shown_snapshots:
            return
        with teardown_safe():
            for pane, snap, path, mode in shown.snapshots:
                asked = shown.opening_asked if pane == "#bank" else None
                self.query_one(pane, BankPane).show(snap, path, mode, asked=asked)
            self._shown_snapshots = shown.snapshot_count

    def show_presenter(self, shown: Shown) -> None:
        p = shown.presenter
        if not self.SCENARIO or p is None:
            return
        with teardown_safe():
            self.query_one(CaptionBar).show_state(
                p.title, p.counter, p.caption, p.state, p.keys, with_caption=p.with_caption, words=p.words,
            )

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
        """check_action for the key bar: the split-mode crash key is left out of it elsewhere, and
        o while no outcome is unknown (pressed, each says why)."""
        state = self.check_action(action, ())
        return False if action in ("crash_gap", "pick") and state is None else state

    def keys(self) -> list[Binding]:
        """This screen's keys as the key bar and the help list them: its own BINDINGS, in order."""
        return shown_keys(type(self).BINDINGS)

    def key_names(self) -> dict[str, str]:
        """Action -> its key as the key bar writes it, for panels that name a key beside a state (in a
        scenario, the live screen's keys too: its panels show the same toggles)."""
        return self._key_names

    def help_rows(self) -> list[tuple[Binding, str]]:
        """The help's rows: each key of this screen with why it is off ("" when on); in a scenario,
        the live screen's keys after them, off while the story plays."""
        rows = []
        for b in self.keys():
            on = self.check_action(b.action, ()) is True
            rows.append((b, "" if on else self.why_off(b.action) or "off"))
        listed = {b.action for b, _ in rows}
        for b in shown_keys(self.LIVE_KEYS):
            if b.action not in listed:
                rows.append((b, "off while a scenario plays"))
                listed.add(b.action)
        return rows

    def _actions(self) -> set[str]:
        return {b.action for b in type(self).BINDINGS if isinstance(b, Binding)} | set(self.EXTRA_ACTIONS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ALWAYS:
            return True
        if action in ("next_step", "previous_step"):
            return self.SCENARIO
        if action in ("pause", "faster", "slower"):
            # A scenario's palette may still pause the clock (space means "next" there).
            return None if self.session.engine is None and not self.SCENARIO else True
        if self.SCENARIO:
            # The story is on file: a key that adds to it would make it another story.
            live = {b.action for b in self.LIVE_KEYS if isinstance(b, Binding)} | set(self.EXTRA_ACTIONS)
            return self.LIVE_STATE if action in live and action != "pipeline" else False
        if action not in self._actions():
            return False  # not a key of this screen
        return self.live_state(action)

    def live_state(self, action: str) -> bool | None:
        return False

    def why_off(self, action: str) -> str:
        """Why `action` is off on this screen now, in a few words ("" when it is on)."""
        return ""

    def _bound(self, key: str, bindings: list[BindingType]) -> Binding | None:
        for b in bindings:
            if isinstance(b, Binding) and key in b.key.split(","):
                return b
        return None

    def on_key(self, event: events.Key) -> None:
        # A key that did nothing (off, or not bound while a scenario plays) reaches here: say why,
        # once per press. (Textual calls this for the subclasses too: no subclass defines its own.)
        bound = self._bound(event.key, list(type(self).BINDINGS))
        if bound is not None:
            if self.check_action(bound.action, ()) is not True:
                why = self.why_off(bound.action)
                if why:
                    self.notify(f"{bound.key_display or bound.key} is off: {why}", timeout=5)
            return
        live = self._bound(event.key, self.LIVE_KEYS)
        if self.SCENARIO and live is not None:
            self.notify(
                f"{live.key_display or live.key} is off while a scenario plays: it would change the story on"
                " file. To try it on your own bank, leave the scenario (ctrl+p, Scenario: leave it).",
                timeout=5,
            )

    # -- the keys every mode has -------------------------------------------------------------------
    def action_quit(self) -> None:
        """q (and the palette's Quit): leave the app with exit status 0."""
        self.app.exit(0)

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
        from atm_tui.ui.screens.modals import HelpScreen

        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen(self.help_rows()))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        folder = Path(path or self.session.settings.screenshot_dir or data_dir() / "screenshots")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = filename or f"atm-tui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
            saved = self.app.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return
        self.notify(f"screenshot saved: {home_relative(saved)}", timeout=8)

    def action_pipeline(self) -> None:
        if self.session.live_pipeline.toggle():
            self.app.run_worker(self.session.live_pipeline.open(), group="pipeline", exclusive=True,
                                exit_on_error=False)

    def action_class_view(self) -> None:
        # Loaded on the first `l`: the class view is for a classroom, not every start-up.
        from atm_tui.ui.screens.class_view import ClassScreen

        self.app.push_screen(ClassScreen(self.session.settings.db, self.session.db_label))

    def action_next_step(self) -> None:
        self.app.run_worker(self.session.scenarios.next_step(), group="presenter", exit_on_error=False)

    def action_previous_step(self) -> None:
        self.app.run_worker(self.session.scenarios.previous_step(), group="presenter", exit_on_error=False)

