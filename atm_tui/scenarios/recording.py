"""The export's files for a video: captions.vtt (WebVTT) and NAME.cast (asciicast v2), from the timeline.

Both follow `timing.timeline`: the title beat, then one beat per step, each held as autoplay holds
it with --no-animation. Times are whole milliseconds written with three decimals, so the same
scenario and seed give the same bytes.
"""

from __future__ import annotations

import json

from atm_tui.scenarios.timing import Cue


def _clock(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_text(text: str) -> str:
    # WebVTT cue text: &, < and > are markup; a blank line would end the cue.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\n".join(line for line in escaped.splitlines() if line.strip()) or " "


def webvtt(cues: list[Cue], title: str) -> str:
    """One cue per beat; the title beat's text is the title and the summary."""
    out = ["WEBVTT", ""]
    for number, cue in enumerate(cues, start=1):
        text = f"{title}\n{cue.text}" if cue.position == 0 else cue.text
        out += [str(number), f"{_clock(cue.start)} --> {_clock(cue.end)}", _vtt_text(text), ""]
    return "\n".join(out)


def _t(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def asciicast(cues: list[Cue], screens: dict[int, str], size: tuple[int, int], title: str) -> str:
    """An asciicast v2 recording: each beat's screen (ANSI text) at its start, one marker per step.

    `screens` maps a beat's position to the terminal output that draws it; the header has no
    timestamp, so the file depends only on the scenario and the seed.
    """
    width, height = size
    header = {"version": 2, "width": width, "height": height, "title": title,
              "env": {"TERM": "xterm-256color"}}  # fmt: skip
    lines = [json.dumps(header, ensure_ascii=False)]
    # Hide the cursor, then each frame homes it and overwrites every cell.
    lines.append(f"[{_t(0)}, \"o\", {json.dumps(chr(27) + '[?25l' + chr(27) + '[2J', ensure_ascii=False)}]")
    for cue in cues:
        if cue.position > 0:
            lines.append(f'[{_t(cue.start)}, "m", {json.dumps(cue.text, ensure_ascii=False)}]')
        lines.append(f'[{_t(cue.start)}, "o", {json.dumps(screens[cue.position], ensure_ascii=False)}]')
    if cues:
        # The last beat stays for its hold: an empty output at its end gives the cast its length.
        lines.append(f'[{_t(cues[-1].end)}, "o", ""]')
    return "\n".join(lines) + "\n"
