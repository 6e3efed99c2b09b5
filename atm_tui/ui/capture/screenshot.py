"""Regenerate the README's screenshots into assets/: `python -m atm_tui.ui.capture.screenshot`.

Runs the lesson's story (h h w, compare mode, the pipeline's disaster) headless on a throwaway
database with a fake wall clock, and chosen steps of the scenarios through the export's SVG frame
renderer (the same frames `atm-tui export --frames svg` writes), so the pictures are the same on
every run; writes SVG, and PNG drawn from the same cell grid as `export --frames png` (ui/png.py).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
from functools import partial
from pathlib import Path

from rich.cells import cell_len

from atm_tui.scenarios.loader import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.app import AtmApp, FakeClock, Settings
from atm_tui.ui.capture.frames import Capture, capture, screen_of
from atm_tui.ui.capture.png import render_png

PNG_CELL = (16, 30)  # pixels per terminal cell: 120x36 gives 1920x1080

SHOTS: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "atm-tui-story": (("h", "h", "w"), (120, 36)),
    "atm-tui-compare": (("c", "h", "h", "w"), (120, 36)),
    "atm-tui-narrow": (("h", "h", "w"), (80, 24)),
    # Pipeline mode, naive consumer, a crash before the commit: M1 charged twice.
    "atm-tui-pipeline": (("p", "i", "i", "K", "w", "w"), (120, 36)),
}
# Presenter mode, as the export renders it: name -> (scenario, step, size).
SCENARIO_SHOTS: dict[str, tuple[str, int, tuple[int, int]]] = {
    "atm-tui-presenter": ("t123", 3, (120, 36)),
    "atm-tui-presenter-end": ("t123", 5, (120, 36)),
    "atm-tui-presenter-naive": ("naive", 5, (120, 36)),
    "atm-tui-presenter-narrow": ("t123", 3, (80, 24)),
    # The kafka scenario in the pipeline view: the naive replacement has just charged M2 again.
    "atm-tui-kafka": ("kafka", 3, (120, 36)),
}


_RUN = re.compile(
    r'(<text class="[^"]+" x=")([\d.]+)(" y="[\d.]+" textLength=")([\d.]+)("[^>]*>)(.*?)(</text>)'
)
_FONT_FACE = re.compile(r"@font-face \{.*?\}\s*", re.S)


# For converting Rich's SVG with rsvg-convert yourself: Rich's SVG names Fira Code from a CDN,
# which rsvg-convert cannot fetch offline; png_svg swaps in a local font (apt-get fonts-dejavu-core).
PNG_FONT = "DejaVu Sans Mono"


def place_runs(svg: str) -> str:
    """Give every word of Rich's SVG its own x, and drop the spaces between words.

    Rich writes a run of text as one <text> with its spaces as &#160;; renderers such as
    rsvg-convert drop leading spaces and draw with their own font's advance, so a right-aligned
    note lands on the wrong lane. One <text> per word, at its terminal column, reads the same anywhere.
    """

    def split(m: re.Match[str]) -> str:
        head, x, mid, length, attrs, body, tail = m.groups()
        text = html.unescape(body)
        cells = cell_len(text)
        if cells == 0 or " " not in text and "\xa0" not in text:
            return m.group(0)
        width = float(length) / cells
        out = []
        column = 0
        for word in re.split(r"([ \xa0]+)", text):
            if word and not word.isspace():
                size = cell_len(word)
                out.append(
                    f"{head}{float(x) + column * width:g}{mid}{size * width:g}{attrs}"
                    f"{html.escape(word, quote=False)}{tail}"
                )
            column += cell_len(word)
        return "".join(out)

    return _RUN.sub(split, svg)


def png_svg(svg: str, font: str = PNG_FONT) -> str:
    """The SVG to hand to rsvg-convert: words placed, and drawn with a local monospace font."""
    svg = _FONT_FACE.sub("", place_runs(svg))
    return re.sub(r"font-family: Fira Code, monospace;", f'font-family: "{font}", monospace;', svg)


async def _shoot(keys: tuple[str, ...], size: tuple[int, int], folder: Path) -> Capture:
    app = AtmApp(Settings(db=str(folder / "bank.db"), fresh=True, wall=FakeClock(), shown_db="bank.db"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await app.settle(60)
        await pilot.pause()
        return screen_of(app, title="atm-tui")


async def _scenario_shot(name: str, step: int, size: tuple[int, int], folder: Path) -> Capture:
    player = ScenarioPlayer(load(name), str(folder / "scenario.db"))
    await player.open()
    try:
        await player.goto(step)
        return await capture(player, size)
    finally:
        await player.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atm_tui.ui.capture.screenshot", description=__doc__)
    parser.add_argument("--out", default="assets", help="folder for the SVG and PNG files (default assets)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, partial(_shoot, keys, size)) for name, (keys, size) in SHOTS.items()]
    jobs += [(name, partial(_scenario_shot, *shot)) for name, shot in SCENARIO_SHOTS.items()]
    for name, shoot in jobs:
        with tempfile.TemporaryDirectory() as tmp:
            shot = asyncio.run(shoot(Path(tmp)))
        svg_path = out / f"{name}.svg"
        svg_path.write_text(place_runs(shot.svg), encoding="utf-8")
        print(svg_path)
        png_path = out / f"{name}.png"
        png_path.write_bytes(render_png(shot, (shot.size[0] * PNG_CELL[0], shot.size[1] * PNG_CELL[1])))
        print(png_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
