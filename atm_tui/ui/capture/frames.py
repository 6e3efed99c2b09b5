"""The app's screen at a scenario's step, captured headless: as SVG frames, ANSI text and a cell grid.

The app is run at 120x36 (or the size asked) with animations off, a wall clock that never moves
and a fixed database label, and shows the export's own player, so the same seed gives the same
screen: `atm-tui export --frames svg`, the asciicast and the PNG frames all come from here.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment
from textual.app import App

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
    """One screen: its SVG, its rows of styled cells (Rich segments), and its size."""

    svg: str
    rows: list[list[Segment]]
    size: tuple[int, int]

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


_last: tuple[tuple[object, ...], Capture] | None = None
# The apps kept running for the export being played, by (player, size, clean, captions).
_running: dict[tuple[object, ...], tuple[AtmApp, Pilot[int]]] = {}
_stacks: dict[int, AsyncExitStack] = {}


@asynccontextmanager
async def filming(player: ScenarioPlayer) -> AsyncIterator[None]:
    """Keep one app per look running while `player` is exported; each capture redraws it.

    Booting an app for every step made an export's time grow with each step; here the first
    capture of a look (size, key bar, captions) starts its app and the later ones show the
    player again in it, as a start would (the same replay of the events, the same bank read).
    """
    async with AsyncExitStack() as stack:
        _stacks[id(player)] = stack
        try:
            yield
        finally:
            del _stacks[id(player)]
            for key in [k for k in _running if k[0] == id(player)]:
                del _running[key]


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


async def _show(app: AtmApp, pilot: Pilot[int], clean: bool) -> None:
    await pilot.pause()
    await app.settle(0)
    await pilot.pause()
    if clean:
        for bar in app.query("#keybar"):
            bar.display = False
        await pilot.pause()


async def capture(
    player: ScenarioPlayer, size: tuple[int, int] = FRAME_SIZE, clean: bool = False, captions: bool = True
) -> Capture:
    """The app's screen showing `player` where it stands (the player stays open and unchanged).

    `clean`: the recording look, with no key bar. `captions` False: the caption bar keeps the
    title, the step and its key badge but not the caption (a subtitle track carries it). The last
    capture is kept, so the SVG frame, the cast and the PNG of one step run the app once; while
    `filming(player)` is open, one app per look serves every step.
    """
    global _last
    key = (id(player), player.position, player.playing, len(player.events), size, clean, captions)
    if _last is not None and _last[0] == key:
        return _last[1]
    title = f"atm-tui {player.scenario.name} {player.counter}"
    look = (id(player), size, clean, captions)
    stack = _stacks.get(id(player))
    if stack is None:  # no export running: an app for this one screen
        app = _start(player, captions)
        async with app.run_test(size=size) as pilot:
            await _show(app, pilot, clean)
            result = screen_of(app, title=title)
    elif look not in _running:
        app = _start(player, captions)
        pilot = await stack.enter_async_context(app.run_test(size=size))
        _running[look] = (app, pilot)
        await _show(app, pilot, clean)
        result = screen_of(app, title=title)
    else:
        app, pilot = _running[look]
        await app.session.show_player()
        app.redraw()
        await _show(app, pilot, clean)
        result = screen_of(app, title=title)
    _last = (key, result)
    return result


def screen_of(app: App[int], title: str = "atm-tui") -> Capture:
    """What a running app shows now: its SVG and its cells (Textual's own screenshot path)."""
    size = (app.size.width, app.size.height)
    svg = app.export_screenshot(title=title)
    update = full_update(app)
    console = Console(width=size[0], height=size[1], file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)  # fmt: skip
    segments = [s for s in console.render(update) if not s.control]
    rows = list(Segment.split_and_crop_lines(segments, size[0], pad=True, include_new_lines=False))[: size[1]]
    return Capture(svg, rows, size)


async def _svg_frame(player: ScenarioPlayer, options: FrameOptions) -> str:
    return (await capture(player, FRAME_SIZE, options.clean, options.burned)).svg


async def _png_frame(player: ScenarioPlayer, options: FrameOptions) -> bytes:
    from atm_tui.ui.capture.png import render_png

    return render_png(await capture(player, FRAME_SIZE, options.clean, options.burned), options.size)


async def render_ansi(player: ScenarioPlayer, options: FrameOptions | None = None) -> str:
    burned = options.burned if options is not None else True
    return (await capture(player, captions=burned)).ansi()


register_frame_format(FrameFormat("svg", _svg_frame, "SVG screenshots of the app, one per step (120x36)"))
register_frame_format(
    FrameFormat("png", _png_frame, "PNG pictures of the app, a title frame then one per step", title=True)
)
register_screen(render_ansi, FRAME_SIZE)
register_filming(filming)
