"""`export --frames png`: 1080p pictures from the cell grid, words at their terminal columns, same bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from atm_tui.cli.main import main
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.capture.frames import capture
from atm_tui.ui.capture.png import _BLOCKS, _BOX, SUBSTITUTES, Layout, _font, draw_rows, render_png


def export_png(tmp_path: Path, folder: str, *extra: str) -> Path:
    out = tmp_path / folder
    assert main(["export", "--scenario", "t123", "--out", str(out), "--frames", "png", *extra]) == 0
    return out


@pytest.mark.slow
def test_png_frames_title_first_1080p_and_byte_identical(tmp_path: Path) -> None:
    a, b = export_png(tmp_path, "a", "--clean"), export_png(tmp_path, "b", "--clean")
    names = sorted(p.name for p in a.glob("frame-*.png"))
    assert names == [f"frame-{k:03d}.png" for k in range(0, 6)]  # the title frame, then 5 steps
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert Image.open(a / name).size == (1920, 1080)
    small = export_png(tmp_path, "c", "--size", "1280x720")
    assert Image.open(small / "frame-003.png").size == (1280, 720)
    assert (small / "frame-003.png").read_bytes() != (a / "frame-003.png").read_bytes()


@pytest.mark.parametrize("size", ["1920", "10x10", "axb", "99999x99999", "1920x1080x2"])
def test_bad_size_is_one_line(size: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", "--scenario", "t123", "--out", str(tmp_path / "x"), "--frames", "png",
              "--size", size])  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "WIDTHxHEIGHT" in err
    assert not (tmp_path / "x").exists()


def test_size_and_clean_need_a_picture_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--scenario", "t123", "--out", str(tmp_path / "x"), "--size", "1280x720"]) == 2
    assert main(["export", "--scenario", "t123", "--out", str(tmp_path / "x"), "--clean"]) == 2
    err = capsys.readouterr().err
    assert "--size sets the PNG frames' size" in err and "--clean is the look" in err
    assert not (tmp_path / "x").exists()


def _ink_columns(image: Image.Image, layout: Layout, row: int, bg: tuple[int, int, int]) -> list[int]:
    """The terminal columns whose cells hold a pixel that is not the background, on `row`."""
    px = image.load()
    assert px is not None
    cols = []
    for col in range((image.width - 2 * layout.x0) // layout.cell_w):
        x0, y0 = layout.x(col), layout.y(row)
        if any(px[x, y] != bg for x in range(x0, x0 + layout.cell_w) for y in range(y0, y0 + layout.cell_h)):
            cols.append(col)
    return cols


def test_a_word_is_drawn_at_its_terminal_column() -> None:
    word = Segment("Ledger:", Style(bold=True))
    rows = [[Segment(" " * 37), word, Segment(" " * 76)], [Segment(" " * 120)]]
    image = draw_rows(rows, (120, 2), (1920, 60))
    layout = Layout((120, 2), (1920, 60))
    assert _ink_columns(image, layout, 0, (0, 0, 0)) == list(range(37, 44))
    assert _ink_columns(image, layout, 1, (0, 0, 0)) == []


async def test_the_apps_words_land_on_their_columns(tmp_path: Path) -> None:
    player = ScenarioPlayer(load("t123"), str(tmp_path / "t.db"))
    await player.open()
    try:
        await player.goto(5)
        shot = await capture(player, clean=True)
    finally:
        await player.close()
    text = shot.text().split("\n")
    row = next(i for i, line in enumerate(text) if "Ledger: 1 row" in line)
    col = cell_len(text[row][: text[row].index("Ledger:")])  # the terminal column, not the str index
    image = Image.open(io.BytesIO(render_png(shot)))
    layout = Layout(shot.size, image.size)
    cell_bg = image.getpixel((layout.x(col - 1) + 1, layout.y(row) + 1))  # the space before the word
    assert isinstance(cell_bg, tuple) and len(cell_bg) == 3
    bg = (int(cell_bg[0]), int(cell_bg[1]), int(cell_bg[2]))
    inked = [c for c in _ink_columns(image, layout, row, bg) if col - 1 <= c <= col + 7]
    assert inked[0] == col and inked[:7] == list(range(col, col + 7))  # "Ledger:" is 7 cells from col


@pytest.mark.slow
def test_every_glyph_the_app_draws_is_in_the_font_or_substituted(exported: Callable[[str], Path]) -> None:
    import json
    import re

    chars: set[str] = set("⧉⧖✕↺⚠◷▶")  # the brief's list, whether or not these scenarios show them
    for cast in (exported("kafka") / "kafka.cast", exported("crash-gap") / "crash-gap.cast"):
        for line in cast.read_text(encoding="utf-8").splitlines()[1:]:
            event = json.loads(line)
            if event[1] == "o":
                chars |= set(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", event[2]))
    font = _font(20, False)

    def ink(ch: str) -> bytes:
        im = Image.new("L", (60, 60))
        ImageDraw.Draw(im).text((5, 5), ch, font=font, fill=255)
        return im.tobytes()

    missing = ink("\uffff")  # what the font draws for a glyph it has not
    drawn = {SUBSTITUTES.get(c, c) for c in chars if not c.isspace() and c not in _BOX and c not in _BLOCKS}
    assert sorted(c for c in drawn if ink(c) == missing) == []
    assert all(ink(sub) != missing for sub in SUBSTITUTES.values())
