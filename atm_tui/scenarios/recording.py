"""The export's files for a video: captions.vtt and keys.vtt (WebVTT), NAME.cast (asciicast v2).

All follow `timing.timeline`: the title beat, then one beat per step, each held as autoplay holds
it with --no-animation. Times are whole milliseconds written with three decimals, so the same
scenario and seed give the same bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from atm_tui.scenarios.keys import badge
from atm_tui.scenarios.subtitles import Subtitle
from atm_tui.scenarios.timing import Cue

if TYPE_CHECKING:
    from atm_tui.scenarios.scenario import Scenario


def _clock(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt_text(text: str) -> str:
    # WebVTT cue text: &, < and > are markup; a blank line would end the cue.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\n".join(line for line in escaped.splitlines() if line.strip()) or " "


def _note(text: str) -> str:
    # A NOTE block may not hold "-->" nor a blank line.
    return "NOTE " + " ".join(text.replace("-->", "->").split())


def webvtt(subs: list[Subtitle], title: str) -> str:
    """captions.vtt: the captions as subtitle cues (subtitles.py's limits); the title as a NOTE."""
    out = ["WEBVTT", "", _note(title), ""]
    for number, sub in enumerate(subs, start=1):
        text = _vtt_text("\n".join(sub.lines))
        out += [str(number), f"{_clock(sub.start)} --> {_clock(sub.end)}", text, ""]
    return "\n".join(out)


def keys_vtt(cues: list[Cue], scenario: Scenario) -> str:
    """keys.vtt: the key badge of each step that has one, for the whole of its beat."""
    out = ["WEBVTT", "", _note(f"{scenario.title}: the keys a person would press for each step"), ""]
    number = 0
    for cue in cues:
        if cue.position == 0:
            continue
        text = badge(scenario.steps[cue.position - 1], scenario.kind)
        if text:
            number += 1
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
