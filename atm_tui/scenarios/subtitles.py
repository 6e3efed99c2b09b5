"""Subtitle cues an editor accepts: at most 2 lines of at most 42 characters, at most 20 characters a second.

A beat of the timeline (timing.py) holds one caption for as long as autoplay shows it; a long
caption becomes several cues, cut at sentence ends where it can and between words otherwise,
that share the beat's time in proportion to their length. Reading time is 15 characters a
second (timing.READING_CPS), so every cue stays under the 20 a second that subtitle guides allow.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from atm_tui.scenarios.timing import Cue

MAX_LINE = 42  # characters per subtitle line
MAX_LINES = 2  # lines per cue
MAX_CPS = 20  # characters per second a viewer can read


@dataclass(frozen=True, slots=True)
class Subtitle:
    """One cue: from start to end (ms), its lines, and the beat (0: title, k: step k) it belongs to."""

    position: int
    start: int
    end: int
    lines: tuple[str, ...]

    @property
    def chars(self) -> int:
        """Characters read, the line break counted as one space (the usual subtitle count)."""
        return len(" ".join(self.lines))


def _wrap(text: str, width: int = MAX_LINE) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)


def _lines(text: str) -> tuple[str, ...]:
    """One cue's lines: one if it fits, else two of about even length (each at most MAX_LINE)."""
    if len(text) <= MAX_LINE:
        return (text,)
    # Never narrower than the longest word that fits a line: a path such as
    # /accounts/A-1001/withdrawals must not be cut to even out the two lines.
    longest = min(MAX_LINE, max(len(w) for w in text.split()))
    for width in range(max(-(-len(text) // MAX_LINES), longest), MAX_LINE + 1):
        lines = _wrap(text, width)
        if len(lines) <= MAX_LINES:
            return tuple(lines)
    return tuple(_wrap(text))


def _groups(words: list[str], k: int) -> list[str]:
    """`words` in k runs of about equal length, in order."""
    total = sum(len(w) + 1 for w in words)
    runs: list[list[str]] = [[]]
    done = 0
    for word in words:
        if done >= total * len(runs) / k and len(runs) < k and runs[-1]:
            runs.append([])
        runs[-1].append(word)
        done += len(word) + 1
    return [" ".join(r) for r in runs]


def _balanced(sentence: str) -> list[tuple[str, ...]]:
    """A sentence too long for one cue, cut between words into the fewest cues of even length.

    A word longer than a line (a URL, say) is cut inside it, as textwrap does.
    """
    words = sentence.split()
    k = -(-len(_wrap(sentence)) // MAX_LINES)
    while k <= len(words):
        parts = _groups(words, k)
        if all(len(_wrap(p)) <= MAX_LINES for p in parts):
            return [_lines(p) for p in parts]
        k += 1
    lines = _wrap(sentence)
    return [tuple(lines[i : i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]


def chunks(text: str) -> list[tuple[str, ...]]:
    """`text` cut into cues of at most MAX_LINES lines of at most MAX_LINE characters.

    Whole sentences are packed into a cue while they fit; a sentence too long for one cue is
    wrapped and its lines taken MAX_LINES at a time.
    """
    out: list[tuple[str, ...]] = []
    current: list[str] = []
    for sentence in re.split(r"(?<=[.!?:])\s+", " ".join(text.split())):
        if not sentence:
            continue
        joined = _wrap(" ".join([*current, sentence]))
        if len(joined) <= MAX_LINES:
            current.append(sentence)
            continue
        if current:
            out.append(_lines(" ".join(current)))
            current = []
        if len(_wrap(sentence)) <= MAX_LINES:
            current = [sentence]
            continue
        out += _balanced(sentence)
    if current:
        out.append(_lines(" ".join(current)))
    return out or [("",)]


def subtitles(cues: list[Cue], title: str = "") -> list[Subtitle]:
    """Each beat's text as cues within the beat, timed in proportion to their characters.

    The title beat (position 0) starts with `title` when one is given.
    """
    out: list[Subtitle] = []
    for cue in cues:
        text = f"{title}. {cue.text}" if cue.position == 0 and title else cue.text
        parts = chunks(text)
        weights = [max(1, len(" ".join(p))) for p in parts]
        total, span, done = sum(weights), cue.end - cue.start, 0
        start = cue.start
        for part, weight in zip(parts, weights, strict=True):
            done += weight
            end = cue.start + span * done // total  # the last part ends exactly at the beat's end
            out.append(Subtitle(cue.position, start, end, part))
            start = end
    return out
