"""Snapshots of every state the lesson shows, wide and narrow (update with --snapshot-update).

The wall clock is a fake one the test moves, the database path shown is fixed, and the network
is seeded, so each frame is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import make_app

from atm_tui.ui.app import AtmApp

SIZES = [(120, 36), (80, 24)]

# state name -> (keys, wall-clock seconds to let pass afterwards)
STATES: dict[str, tuple[tuple[str, ...], float]] = {
    "idle": ((), 0),
    "mid_story_reply_dropped": (("h", "h", "w"), 1.5),
    "story_done": (("h", "h", "w"), 60),
    "naive_disaster": (("i", "h", "h", "w"), 60),
    "compare": (("c", "h", "h", "w"), 60),
    "help": (("question_mark",), 0),
    "storm_mid": (("S",), 3),
}


def _before(app: AtmApp, keys: tuple[str, ...], seconds: float) -> Callable[[Pilot[int]], object]:
    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.pause()
        await pilot.press(*keys)
        await app.settle(seconds)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", list(STATES))
def test_snapshot(
    state: str, size: tuple[int, int], tmp_path: Path, snap_compare: Callable[..., bool]
) -> None:
    app = make_app(tmp_path)
    keys, seconds = STATES[state]
    assert snap_compare(app, terminal_size=size, run_before=_before(app, keys, seconds))
