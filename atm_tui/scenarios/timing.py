"""How long each beat of a scenario stays on screen: autoplay's pacing, the captions' cues, the cast.

A step's `hold` (seconds, in its [[steps]] table) wins; without one, the hold is the time to read
its caption at READING_CPS characters per second, and never less than MIN_HOLD. The title beat
(step 0: the scenario's summary) is timed the same way. `--hold SECONDS` replaces every hold.
Times are whole milliseconds, so every file built from them is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atm_tui.scenarios.scenario import Scenario

READING_CPS = 15  # characters per second: a slow, comfortable reading pace for a class
MIN_HOLD = 4.0  # seconds: even a one-word caption stays this long
MAX_HOLD = 600.0  # seconds: the most a step's hold (or --hold) may ask for
MIN_SET_HOLD = 0.5  # seconds: the least a step's hold (or --hold) may ask for


def reading_ms(text: str) -> int:
    """The default hold of a caption, in ms: its reading time, at least MIN_HOLD."""
    return max(round(MIN_HOLD * 1000), round(len(text) * 1000 / READING_CPS))


def hold_ms(scenario: Scenario, position: int, override: float | None = None) -> int:
    """How long beat `position` (0: the title, k: step k) stays on screen once it has played."""
    if override is not None:
        return round(override * 1000)
    if position == 0:
        return reading_ms(scenario.summary)
    step = scenario.steps[position - 1]
    if step.hold is not None:
        return round(step.hold * 1000)
    return reading_ms(step.caption)


def hold_seconds(scenario: Scenario, position: int, override: float | None = None) -> float:
    return hold_ms(scenario, position, override) / 1000


@dataclass(frozen=True, slots=True)
class Cue:
    """One beat on the recording's timeline: from start to end (ms), showing `text`."""

    position: int  # 0: the title beat, k: step k
    start: int
    end: int
    text: str


def timeline(scenario: Scenario, override: float | None = None, *, title: bool = True) -> list[Cue]:
    """The beats of `--autoplay --no-animation`: each step jumps to its end, then holds.

    The title beat (the summary, before step 1) comes first when `title` is true.
    """
    cues: list[Cue] = []
    t = 0
    beats = [(0, scenario.summary)] if title else []
    beats += [(k, step.caption) for k, step in enumerate(scenario.steps, start=1)]
    for position, text in beats:
        end = t + hold_ms(scenario, position, override)
        cues.append(Cue(position, t, end, text))
        t = end
    return cues
