"""The app's screen at a scenario's step, captured headless: as SVG frames, ANSI text and a cell grid.

The app is run at 120x36 (or the size asked) with animations off, a wall clock that never moves
and a fixed database label, and shows the export's own player, so the same seed gives the same
screen: `atm-tui export --frames svg`, the asciicast and the PNG frames all come from here. While
an export runs, one app (a Film) serves every step; a capture outside an export starts its own.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment
from textual.app import App
from textual.widget import Widget

from atm_tui.scenarios.export_formats import (
    FrameFormat,
    FrameOptions,
    register_filming,
    register_frame_format,
    register_screen,
)
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.textual_private import full_update

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from atm_tui.ui.app import AtmApp

FRAME_SIZE = (120, 36)


@dataclass(frozen=True, slots=True)
class Capture:
    """One screen: its rows of styled cells (Rich segments), its size, and its SVG when it was asked for."""

    rows: list[list[Segment]]
    size: tuple[int, int]
    picture: str | None = None  # Rich's SVG of the screen (the same one App.export_screenshot gives)

    @property
    def svg(self) -> str:
        if self.picture is None:
            raise ValueError("this capture was taken without its SVG (screen_of(..., svg=True) takes it)")
        return self.picture

    def text(self) -> str:
        """The screen's characters, one line per row, trailing spaces dropped."""
        return "\n".join("".join(seg.text for seg in row).rstrip() for row in self.rows)

    def ansi(self) -> str:
        """Terminal output that draws this screen from the top-left corner (for the asciicast)."""
        out = []
        for y, row in enumerate(self.rows):
            out.append(f"\x1b[{y + 1};1H")
            for seg in row:
                style = seg.style
                out.append(style.render(seg.text, color_system=ColorSystem.TRUECOLOR) if style else seg.text)
        out.append("\x1b[0m")
        return "".join(out)


def screen_of(app: App[int], title: str = "atm-tui", svg: bool = True) -> Capture:
    """What a running app shows now: its cells and (svg) its SVG, both from one full render."""
    width, height = app.size.width, app.size.height
    update = full_update(app)
    # The console App.export_screenshot uses, so the SVG is byte for byte the one it would give.
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=svg, legacy_windows=False, safe_box=False)  # fmt: skip
    segments = [s for s in console.render(update) if not s.control]
    rows = list(Segment.split_and_crop_lines(segments, width, pad=True, include_new_lines=False))[:height]
    picture = None
    if svg:
        console.print(update)
        picture = console.export_svg(title=title)
    return Capture(rows, (width, height), picture)


def _start(player: ScenarioPlayer, captions: bool) -> AtmApp:
    from atm_tui.ui.app import AtmApp, FakeClock, Settings

    settings = Settings(
        db=f"scenarios/{player.scenario.name}.db",
        shown_db=f"scenarios/{player.scenario.name}.db",
        wall=FakeClock(),
        no_animation=True,
        player=player,
        captions_in_frame=captions,
    )
    return AtmApp(settings)


async def _settle(app: AtmApp, pilot: Pilot[int]) -> None:
    await pilot.pause()
    await app.settle(0)
    await pilot.pause()


def _where(player: ScenarioPlayer) -> tuple[int, bool, int]:
    """Where the player stands: a new step, the end of one, or new events since."""
    return (player.position, player.playing, len(player.events))


@dataclass(slots=True)
class _Running:
    app: AtmApp
    pilot: Pilot[int]
    shown: tuple[int, bool, int]  # where the player stood when the app last showed it
    hidden: list[tuple[Widget, bool]] = field(default_factory=list)  # the key bar while --clean


class Film:
    """One app showing an export's player from the first frame to the last.

    Each shot shows the player again where it stands, as a start would (ScenarioMode.show_player: the
    same replay of the events, the same bank read), so every step costs the same and a frame is
    the one a fresh app would draw. The frames and the cast share the app: a --clean shot hides
    the key bar, a shot with it shows it again. Only another size or caption setting (never
    within one export) needs a second app. The last shot is kept: the SVG or PNG frame and the
    cast of one step are one shot.
    """

    def __init__(self, player: ScenarioPlayer, stack: AsyncExitStack) -> None:
        self.player = player
        self.stack = stack
        self.running: dict[tuple[tuple[int, int], bool], _Running] = {}
        self.last: tuple[tuple[object, ...], Capture] | None = None

    async def shot(self, size: tuple[int, int], clean: bool, captions: bool, svg: bool) -> Capture:
        player = self.player
        key = (_where(player), size, clean, captions)
        if self.last is not None and self.last[0] == key and (self.last[1].picture is not None or not svg):
            return self.last[1]
        look = (size, captions)
        run = self.running.get(look)
        if run is None:
            app = _start(player, captions)
            pilot = await self.stack.enter_async_context(app.run_test(size=size))
            run = self.running[look] = _Running(app, pilot, _where(player))
            await _settle(run.app, pilot)
        elif run.shown != _where(player):
            await run.app.session.scenarios.show_player()
            run.app.redraw()
            run.shown = _where(player)
            await _settle(run.app, run.pilot)
        await _key_bar(run, clean)
        result = screen_of(run.app, title=f"atm-tui {player.scenario.name} {player.counter}", svg=svg)
        self.last = (key, result)
        return result


async def _key_bar(run: _Running, clean: bool) -> None:
    """Hide the key bar for a --clean shot; show it as it was for the others."""
    if clean and not run.hidden:
        run.hidden = [(bar, bar.display) for bar in run.app.query("#keybar")]
        for bar, _ in run.hidden:
            bar.display = False
        await run.pilot.pause()
    elif not clean and run.hidden:
        for bar, shown in run.hidden:
            bar.display = shown
        run.hidden = []
        await run.pilot.pause()


_films: dict[int, Film] = {}  # the export being played, by id(player)


@asynccontextmanager
async def filming(player: ScenarioPlayer) -> AsyncIterator[Film]:
    """Keep one app running while `player` is exported; every capture of the player is a shot of it.

    Booting an app for every step made an export's time and memory grow with each step.
    """
    async with AsyncExitStack() as stack:
        film = _films[id(player)] = Film(player, stack)
        try:
            yield film
        finally:
            del _films[id(player)]


async def capture(player: ScenarioPlayer, size: tuple[int, int] = FRAME_SIZE, clean: bool = False,
                  captions: bool = True, svg: bool = True) -> Capture:  # fmt: skip
    """The app's screen showing `player` where it stands (the player stays open and unchanged).

    `clean`: the recording look, with no key bar. `captions` False: the caption bar keeps the
    title, the step and its key badge but not the caption (a subtitle track carries it). While
    `filming(player)` is open, its one app serves every capture; otherwise an app is started
    for this one screen.
    """
    film = _films.get(id(player))
    if film is not None:
        return await film.shot(size, clean, captions, svg)
    async with AsyncExitStack() as stack:
        return await Film(player, stack).shot(size, clean, captions, svg)


async def _svg_frame(player: ScenarioPlayer, options: FrameOptions) -> str:
    return (await capture(player, FRAME_SIZE, options.clean, options.burned)).svg


async def _png_frame(player: ScenarioPlayer, options: FrameOptions) -> bytes:
    from atm_tui.ui.capture.png import render_png  # Pillow and the font: the optional `frames` extra

    shot = await capture(player, FRAME_SIZE, options.clean, options.burned, svg=False)
    return render_png(shot, options.size)


async def render_ansi(player: ScenarioPlayer, options: FrameOptions | None = None) -> str:
    burned = options.burned if options is not None else True
    return (await capture(player, captions=burned, svg=False)).ansi()


register_frame_format(FrameFormat("svg", _svg_frame, "SVG screenshots of the app, one per step (120x36)"))
register_frame_format(
    FrameFormat("png", _png_frame, "PNG pictures of the app, a title frame then one per step", title=True)
)
register_screen(render_ansi, FRAME_SIZE)
register_filming(filming)
