"""`export --video mp4`: the PNG frames held at autoplay's timing, encoded to H.264 in one MP4.

The ffmpeg binary is the one imageio-ffmpeg ships inside its wheel (the `video` extra), so a
video maker needs no other tool and nothing is downloaded. The frames are handed to ffmpeg's
concat demuxer with each one's hold (timing.timeline), so the video's beats are the captions'
cues. ffmpeg runs with its bit-exact flags and no metadata; the same ffmpeg build gives the same
bytes, another build may encode differently (the PNG, VTT and cast files do not depend on it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from atm_tui.scenarios.timing import Cue

FPS = 30  # frames per second of the video (a still is repeated; H.264 stores a repeat in bytes)


class VideoError(Exception):
    """The video could not be made; one line saying why."""


def ffmpeg_exe() -> str:
    """The bundled ffmpeg, or VideoError naming the extra to install."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        raise VideoError("--video mp4 needs the bundled ffmpeg: pip install 'atm-tui[video]'") from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # the wheel of another platform: no binary inside
        raise VideoError(f"--video mp4: imageio-ffmpeg has no ffmpeg for this machine ({exc})") from None


def concat_list(names: list[str], cues: list[Cue]) -> str:
    """ffmpeg's concat list: each frame for its beat's hold, the last one listed twice (as ffmpeg asks)."""
    if len(names) != len(cues) or not names:
        raise ValueError(f"{len(names)} frames for {len(cues)} beats")
    lines = ["ffconcat version 1.0"]
    for name, cue in zip(names, cues, strict=True):
        lines += [f"file '{name}'", f"duration {(cue.end - cue.start) / 1000:.3f}"]
    lines.append(f"file '{names[-1]}'")
    return "\n".join(lines) + "\n"


def encode_mp4(folder: Path, names: list[str], cues: list[Cue], out_name: str) -> None:
    """Encode the PNG files `names` in `folder`, each held for its cue, into folder/out_name."""
    exe = ffmpeg_exe()
    listing = folder / ".frames.txt"  # a dot name: never one of the export's files
    listing.write_text(concat_list(names, cues))
    try:
        cmd = [
            exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "concat", "-safe", "0", "-i", listing.name,
            "-vf", f"fps={FPS},format=yuv420p", "-t", f"{cues[-1].end / 1000:.3f}",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "18",
            "-threads", "1",  # one thread: the encoder's output does not depend on scheduling
            "-movflags", "+faststart", "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:v", "+bitexact",
            out_name,
        ]  # fmt: skip
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    finally:
        listing.unlink()
    if done.returncode != 0 or not (folder / out_name).is_file():
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise VideoError(f"--video mp4: ffmpeg failed ({why})")


def probe(exe: str, path: str) -> dict[str, str]:
    """What ffmpeg reads back from a video: codec, frame size, duration (as `ffmpeg -i` prints them)."""
    import re

    done = subprocess.run([exe, "-hide_banner", "-nostdin", "-i", path], capture_output=True, text=True,
                          check=False)  # fmt: skip
    text = done.stderr
    info: dict[str, str] = {}
    m = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", text)
    if m:
        h, mi, s = m.groups()
        info["duration"] = f"{int(h) * 3600 + int(mi) * 60 + float(s):.2f}"
    m = re.search(r"Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})", text)
    if m:
        info["codec"], info["width"], info["height"] = m.group(1), m.group(2), m.group(3)
    return info
