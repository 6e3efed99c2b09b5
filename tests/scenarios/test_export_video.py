"""The video maker's export: subtitles or burned captions, a key badge, stills at a step's start, an MP4."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest

from atm_tui.cli.main import main
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.timing import timeline


def export(tmp_path: Path, folder: str, *extra: str, name: str = "t123") -> Path:
    out = tmp_path / folder
    assert main(["export", "--scenario", name, "--out", str(out), *extra]) == 0
    return out


def cast_screens(path: Path) -> list[str]:
    """Play the cast through pyte, a real VT emulator: the screen after each beat's output."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    shots = []
    for line in lines[1:]:
        t, kind, data = json.loads(line)
        if kind == "o":
            stream.feed(data)
            if "\x1b[1;1H" in data:  # a beat's screen (the first output only clears)
                shots.append("\n".join(screen.display))
    return shots


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow  # a whole export with its subtitles
def test_captions_vtt_leaves_the_caption_out_of_the_frames_and_the_key_badge_in(
    tmp_path: Path, exported: Callable[[str], Path]
) -> None:
    sc = load("t123")
    sub = export(tmp_path, "vtt", "--captions", "vtt", "--step-starts")
    both = exported("t123")
    burned = export(tmp_path, "burned", "--captions", "burned")
    assert (sub / "captions.vtt").is_file() and (both / "captions.vtt").is_file()
    assert not (burned / "captions.vtt").exists()  # burned in: no subtitle file to repeat it
    assert (sub / "keys.vtt").read_bytes() == (both / "keys.vtt").read_bytes()
    shown = [flat(s) for s in cast_screens(sub / "t123.cast")]
    with_caption = [flat(s) for s in cast_screens(both / "t123.cast")]
    assert len(shown) == len(with_caption) == len(sc.steps) + 1
    for k, step in enumerate(sc.steps, start=1):
        opening = " ".join(step.caption.split()[:5])
        assert f"step {k} of {len(sc.steps)}" in shown[k] and sc.title in shown[k]
        assert opening not in shown[k], k  # the subtitle carries it
        assert opening in with_caption[k], k
    assert "key w" in shown[2] and "key w" in with_caption[2]  # step 2 withdraws: the badge says w
    assert "key h ×2" in shown[1] and "key b" in shown[5]
    assert not any(word in shown[3] for word in ("key w", "key h", "keys "))  # step 3 only waits


def test_a_still_at_the_start_of_each_step(tmp_path: Path, exported: Callable[[str], Path]) -> None:
    out = export(tmp_path, "starts", "--step-starts")
    sc = load("t123")
    names = sorted(p.name for p in out.glob("frame-*"))
    assert names == sorted([f"frame-{k:03d}.txt" for k in range(1, 6)]
                           + [f"frame-{k:03d}-start.txt" for k in range(1, 6)])  # fmt: skip
    start, end = (out / "frame-002-start.txt").read_text(), (out / "frame-002.txt").read_text()
    assert "step 2 of 5" in start and "step 2 of 5" in end
    assert flat(sc.steps[1].caption)[:60] in flat(start)  # its own caption, at its start
    assert "Ledger   0 row(s)" in start and "Ledger   1 row(s)" in end  # nothing debited yet
    assert "withdraw" in start.split("Events of this step")[1]  # the step's action, done at its start
    # Without the option the end-of-step frames are unchanged.
    plain = exported("t123")
    assert (plain / "frame-002.txt").read_bytes() == end.encode()


@pytest.mark.slow
def test_video_mp4_is_h264_at_the_autoplay_timing(tmp_path: Path) -> None:
    from atm_tui.scenarios.video import ffmpeg_exe, probe

    out = export(tmp_path, "video", "--video", "mp4", "--size", "640x360", "--clean")
    video = out / "t123.mp4"
    assert video.read_bytes()[4:8] == b"ftyp"
    info = probe(ffmpeg_exe(), str(video))
    total = timeline(load("t123"))[-1].end / 1000
    assert info["codec"] == "h264" and (info["width"], info["height"]) == ("640", "360")
    assert abs(float(info["duration"]) - total) <= 0.1, (info, total)
    assert len(list(out.glob("frame-*.png"))) == 6  # the frames it is made of, kept for editing


def test_video_needs_png_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--scenario", "t123", "--out", str(tmp_path / "x"), "--video", "mp4",
                 "--frames", "svg"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--video mp4 is made of the PNG frames" in err
    assert not (tmp_path / "x").exists()
