"""The export's recording files: captions.vtt and NAME.cast, timed as autoplay, equal to the app's screens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import make_app

from atm_tui.cli.main import main
from atm_tui.scenarios.export import export as export_scenario
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.timing import timeline
from atm_tui.ui.app import AtmApp
from atm_tui.ui.capture.frames import FRAME_SIZE, screen_of

CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def export(tmp_path: Path, name: str, folder: str = "out", *extra: str) -> Path:
    out = tmp_path / folder
    assert main(["export", "--scenario", name, "--out", str(out), *extra]) == 0
    return out


def read_cast(path: Path) -> tuple[dict[str, object], list[list[object]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def replay(data: str, size: tuple[int, int]) -> list[str]:
    """A tiny terminal: only what the cast uses (cursor moves, SGR), applied to a blank grid."""
    width, height = size
    grid = [[" "] * width for _ in range(height)]
    row = col = 0
    pos = 0
    for m in CSI.finditer(data):
        for ch in data[pos : m.start()]:
            grid[row][col] = ch
            col += 1
        code = m.group(0)
        if code.endswith("H"):
            args = code[2:-1].split(";") if code[2:-1] else ["1", "1"]
            row, col = int(args[0]) - 1, int(args[1]) - 1
        elif code == "\x1b[2J":
            grid = [[" "] * width for _ in range(height)]
        pos = m.end()
    for ch in data[pos:]:
        grid[row][col] = ch
        col += 1
    return ["".join(r).rstrip() for r in grid]


async def settled(app: AtmApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await app.settle(0)
    await pilot.pause()
    app._render_now()
    await pilot.pause()


def test_cast_header_markers_and_timing(exported: Callable[[str], Path]) -> None:
    out = exported("t123")
    header, events = read_cast(out / "t123.cast")
    assert header["version"] == 2 and (header["width"], header["height"]) == FRAME_SIZE
    assert "timestamp" not in header
    sc = load("t123")
    markers = [e for e in events if e[1] == "m"]
    assert [m[2] for m in markers] == [step.caption for step in sc.steps]  # one per step, its caption
    cues = timeline(sc)
    assert [m[0] for m in markers] == [c.start / 1000 for c in cues[1:]]
    times = [float(str(e[0])) for e in events]
    assert times == sorted(times) and times[-1] == cues[-1].end / 1000
    frames = [e for e in events if e[1] == "o" and "\x1b[1;1H" in str(e[2])]
    assert len(frames) == len(sc.steps) + 1  # the title beat, then one screen per step


def vtt_cues(vtt: str) -> list[tuple[int, int, list[str]]]:
    """(start ms, end ms, lines) of every cue of a WebVTT file, checking the numbering."""
    stamp = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")
    assert vtt.startswith("WEBVTT\n\n")
    blocks = [b for b in vtt.strip().split("\n\n")[1:] if not b.startswith("NOTE ")]
    out = []
    for k, block in enumerate(blocks, start=1):
        number, times, *text = block.split("\n")
        assert number == str(k)
        m = stamp.match(times)
        assert m is not None, times
        h, mi, s, ms, h2, mi2, s2, ms2 = (int(x) for x in m.groups())
        start, end = ((h * 60 + mi) * 60 + s) * 1000 + ms, ((h2 * 60 + mi2) * 60 + s2) * 1000 + ms2
        assert start < end
        out.append((start, end, text))
    return out


def test_captions_vtt_cues_tile_each_beat_and_say_its_caption(tmp_path: Path) -> None:
    out = export(tmp_path, "in-flight")
    vtt = (out / "captions.vtt").read_text(encoding="utf-8")
    sc = load("in-flight")
    assert vtt.startswith(f"WEBVTT\n\nNOTE {sc.title}\n\n1\n00:00:00.000 --> ")
    cues = vtt_cues(vtt)
    for beat in timeline(sc):
        mine = [c for c in cues if beat.start <= c[0] < beat.end]
        assert mine and mine[0][0] == beat.start and mine[-1][1] == beat.end  # the beat, exactly
        assert all(a[1] == b[0] for a, b in zip(mine, mine[1:], strict=False))  # no gap, no overlap
        escaped = beat.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert " ".join(" ".join(c[2]) for c in mine) == " ".join(escaped.split())
    assert len(cues) > len(sc.steps) + 1  # long captions became several cues


@pytest.mark.slow
@pytest.mark.parametrize("name", ["t123", "kafka"])
def test_cast_and_captions_are_byte_identical(
    name: str, tmp_path: Path, exported: Callable[[str], Path]
) -> None:
    a, b = exported(name), export(tmp_path, name, "b")  # two exports, each on its own file
    for file in (f"{name}.cast", "captions.vtt", "keys.vtt"):
        assert (a / file).read_bytes() == (b / file).read_bytes(), file
    # The timing does not depend on the seed: another seed, the same subtitles.
    c = export(tmp_path, name, "c", "--seed", "5")
    assert (c / "captions.vtt").read_bytes() == (a / "captions.vtt").read_bytes()


@pytest.mark.slow
async def test_cast_frames_equal_the_live_apps_screen_at_each_step(tmp_path: Path) -> None:
    out = tmp_path / "out"
    await export_scenario(load("t123"), str(out))
    _, events = read_cast(out / "t123.cast")
    screens = [replay(str(e[2]), FRAME_SIZE) for e in events if e[1] == "o" and "\x1b[1;1H" in str(e[2])]
    # The live app, driven by keys on its own file, as a presenter would.
    app = make_app(tmp_path, scenario="t123", scenario_dir=str(tmp_path), no_animation=True,
                   shown_db="scenarios/t123.db")  # fmt: skip
    seen: list[list[str]] = []
    async with app.run_test(size=FRAME_SIZE) as pilot:
        await settled(app, pilot)
        seen.append(screen_of(app).text().split("\n"))
        for _ in load("t123").steps:
            await pilot.press("right")
            await settled(app, pilot)
            seen.append(screen_of(app).text().split("\n"))
    assert len(screens) == len(seen) == 6
    for k, (cast_rows, app_rows) in enumerate(zip(screens, seen, strict=True)):
        assert cast_rows == app_rows, f"beat {k}"
    assert any("T123" in row for row in screens[-1]) and any("45,000" in row for row in screens[-1])
