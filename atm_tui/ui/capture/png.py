"""PNG frames drawn straight from the terminal's cell grid: every character at its own column.

The font is Fira Code (the font Rich's SVG names), shipped on PyPI by fontpkg-fira-code, so a
fresh machine draws the same pixels. A character goes down one chain: box-drawing and block
characters are drawn as lines and rectangles (so borders join across cells); the few symbols no
packaged monospace font has in Fira Code's style (⋯, ⧗) are drawn as shapes (SHAPES); the rest
come from the font, with SUBSTITUTES naming the nearest glyph it has for those it lacks.
`drawable` says whether a character comes out as itself; a test holds every glyph every
scenario's frames show to it.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont
from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style


class Grid(Protocol):
    """What a picture is drawn from: rows of styled cells and the size in cells (frames.Capture is one).

    A protocol, so the renderer needs nothing from the module that runs the app (no import circle).
    """

    @property
    def rows(self) -> list[list[Segment]]: ...

    @property
    def size(self) -> tuple[int, int]: ...


FONT_PACKAGE = "fontpkg_fira_code"  # PyPI: fontpkg-fira-code (OFL-1.1)
DEFAULT_SIZE = (1920, 1080)
DEFAULT_FG = (230, 230, 230)
DEFAULT_BG = (0, 0, 0)
# Glyphs the app draws that Fira Code has not, and the nearest one it has.
SUBSTITUTES = {
    "✕": "×", "✗": "×", "⚠": "▲", "⧉": "◫", "⧖": "◴", "↺": "⟲", "↻": "⟳", "⛔": "⌧",
    "◁": "◄", "▷": "►", "⏸": "‖", "⇄": "⟷", "ℹ": "i",
}  # fmt: skip
# Symbols drawn as shapes, in the cell's box (x0, y0, x1, y1): see _shape.
SHAPES = frozenset("⋯⧗")
# Box drawing: character -> (left, right, up, down) line weights, 1 light and 2 heavy.
_BOX = {
    "─": (1, 1, 0, 0), "━": (2, 2, 0, 0), "│": (0, 0, 1, 1), "┃": (0, 0, 2, 2),
    "┌": (0, 1, 0, 1), "┐": (1, 0, 0, 1), "└": (0, 1, 1, 0), "┘": (1, 0, 1, 0),
    "┏": (0, 2, 0, 2), "┓": (2, 0, 0, 2), "┗": (0, 2, 2, 0), "┛": (2, 0, 2, 0),
    "╭": (0, 1, 0, 1), "╮": (1, 0, 0, 1), "╰": (0, 1, 1, 0), "╯": (1, 0, 1, 0),
    "├": (0, 1, 1, 1), "┤": (1, 0, 1, 1), "┬": (1, 1, 0, 1), "┴": (1, 1, 1, 0), "┼": (1, 1, 1, 1),
    "┣": (0, 2, 2, 2), "┫": (2, 0, 2, 2), "┳": (2, 2, 0, 2), "┻": (2, 2, 2, 0),
    "╸": (2, 0, 0, 0), "╺": (0, 2, 0, 0), "╹": (0, 0, 2, 0), "╻": (0, 0, 0, 2),
    "╴": (1, 0, 0, 0), "╶": (0, 1, 0, 0), "╵": (0, 0, 1, 0), "╷": (0, 0, 0, 1),
}  # fmt: skip
# Blocks: character -> (x0, y0, x1, y1) as fractions of the cell.
_BLOCKS = {
    "█": (0, 0, 1, 1), "▀": (0, 0, 1, 0.5), "▄": (0, 0.5, 1, 1), "▌": (0, 0, 0.5, 1), "▐": (0.5, 0, 1, 1),
    "▁": (0, 7 / 8, 1, 1), "▔": (0, 0, 1, 1 / 8), "▏": (0, 0, 1 / 8, 1), "▕": (7 / 8, 0, 1, 1),
}  # fmt: skip


def font_path() -> Path:
    return Path(str(resources.files(FONT_PACKAGE).joinpath("files", "FiraCode[wght].ttf")))


@lru_cache(maxsize=8)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(str(font_path()), size)
    font.set_variation_by_axes([700 if bold else 400])
    return font


class Layout:
    """Where cell (column, row) lands in a picture: whole-pixel cells, the grid centred."""

    def __init__(self, grid: tuple[int, int], size: tuple[int, int]) -> None:
        cols, rows = grid
        self.cell_w = size[0] // cols
        self.cell_h = size[1] // rows
        self.x0 = (size[0] - self.cell_w * cols) // 2
        self.y0 = (size[1] - self.cell_h * rows) // 2
        # The largest font whose advance fits the cell and whose line fits its height.
        probe = _font(100, False)
        advance = probe.getlength("M") / 100
        ascent, descent = probe.getmetrics()
        self.font_size = max(6, int(min(self.cell_w / advance, self.cell_h * 100 / (ascent + descent))))

    def x(self, column: int) -> int:
        return self.x0 + column * self.cell_w

    def y(self, row: int) -> int:
        return self.y0 + row * self.cell_h


def _rgb(color: Color | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if color is None or color.is_default:
        return default
    t = color.get_truecolor()
    return (t.red, t.green, t.blue)


def _colors(style: Style | None) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    style = style or Style()
    fg, bg = _rgb(style.color, DEFAULT_FG), _rgb(style.bgcolor, DEFAULT_BG)
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = tuple((f + b) // 2 for f, b in zip(fg, bg, strict=True))  # type: ignore[assignment]
    return fg, bg


RGB = tuple[int, int, int]


def _box(draw: ImageDraw.ImageDraw, ch: str, box: tuple[int, int, int, int], fg: RGB) -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    left, right, up, down = _BOX[ch]
    unit = max(1, (x1 - x0) // 8)
    for weight, rect in (
        (left, lambda w: (x0, cy - w // 2, cx + w - w // 2, cy + w - w // 2)),
        (right, lambda w: (cx - w // 2, cy - w // 2, x1, cy + w - w // 2)),
        (up, lambda w: (cx - w // 2, y0, cx + w - w // 2, cy + w - w // 2)),
        (down, lambda w: (cx - w // 2, cy - w // 2, cx + w - w // 2, y1)),
    ):
        if weight:
            w = unit * weight
            draw.rectangle(rect(w), fill=fg)


def _shape(draw: ImageDraw.ImageDraw, ch: str, box: tuple[int, int, int, int], fg: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if ch == "⋯":  # midline horizontal ellipsis: three dots on the middle line
        r = max(1.0, w / 12)
        for fx in (1 / 6, 1 / 2, 5 / 6):
            x = x0 + fx * w
            draw.ellipse((x - r, cy - r, x + r, cy + r), fill=fg)
    elif ch == "⧗":  # black hourglass: two filled triangles meeting at the middle, a bar top and bottom
        half, top, bottom = w * 0.32, y0 + h * 0.2, y1 - h * 0.2
        bar = max(1.0, h / 16)
        draw.rectangle((cx - half, top - bar, cx + half, top), fill=fg)
        draw.rectangle((cx - half, bottom, cx + half, bottom + bar), fill=fg)
        draw.polygon([(cx - half, top), (cx + half, top), (cx, cy)], fill=fg)
        draw.polygon([(cx - half, bottom), (cx + half, bottom), (cx, cy)], fill=fg)


@lru_cache(maxsize=1)
def _missing_ink() -> bytes:
    return _ink("\uffff")  # what the font draws for a character it has no glyph for


@lru_cache(maxsize=4096)
def _ink(ch: str) -> bytes:
    image = Image.new("L", (60, 60))
    ImageDraw.Draw(image).text((5, 5), ch, font=_font(20, False), fill=255)
    return image.tobytes()


def drawable(ch: str) -> bool:
    """Whether `ch` is drawn as itself (or its substitute), not as the font's empty box."""
    if ch.isspace() or ch in _BOX or ch in _BLOCKS or ch in SHAPES:
        return True
    return _ink(SUBSTITUTES.get(ch, ch)) != _missing_ink()


def draw_cell(
    draw: ImageDraw.ImageDraw, layout: Layout, col: int, row: int, ch: str, style: Style | None
) -> int:
    """Paint one character at its cell; returns how many columns it takes."""
    width = max(1, cell_len(ch))
    fg, bg = _colors(style)
    x, y = layout.x(col), layout.y(row)
    box = (x, y, x + layout.cell_w * width, y + layout.cell_h)
    draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=bg)
    if ch in _BOX:
        _box(draw, ch, box, fg)
    elif ch in _BLOCKS:
        fx0, fy0, fx1, fy1 = _BLOCKS[ch]
        w, h = box[2] - box[0], box[3] - box[1]
        rect = (x + round(fx0 * w), y + round(fy0 * h), x + round(fx1 * w) - 1, y + round(fy1 * h) - 1)
        draw.rectangle(rect, fill=fg)
    elif ch in SHAPES:
        _shape(draw, ch, box, fg)
    elif not ch.isspace():
        bold = bool(style and style.bold)
        font = _font(layout.font_size, bold)
        glyph = SUBSTITUTES.get(ch, ch)
        # Centred in its cell(s), on the cell's middle line: every glyph at its terminal column.
        draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), glyph, font=font, fill=fg, anchor="mm")
        if style and style.underline:
            draw.line((box[0], box[3] - 2, box[2] - 1, box[3] - 2), fill=fg)
    return width


def draw_rows(rows: list[list[Segment]], grid: tuple[int, int], size: tuple[int, int]) -> Image.Image:
    """The picture of a cell grid (Rich segments, one list per row)."""
    image = Image.new("RGB", size, DEFAULT_BG)
    draw = ImageDraw.Draw(image)
    layout = Layout(grid, size)
    for row, segments in enumerate(rows):
        col = 0
        for seg in segments:
            for ch in seg.text:
                col += draw_cell(draw, layout, col, row, ch, seg.style)
    return image


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)  # no timestamp chunk: same bytes
    return out.getvalue()


def render_png(capture: Grid, size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    """The PNG of one captured screen at `size` pixels."""
    return png_bytes(draw_rows(capture.rows, capture.size, size))
