"""Snapshots of the pipeline view, wide and narrow (update with --snapshot-update).

Fake wall clock, fixed database path, seeded pipeline, animations and cursor blink off: each
frame is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import make_app

from atm_tui.ui.app import AtmApp

SIZES = [(120, 36), (80, 24)]

# state name -> key groups, each followed by the wall-clock seconds to let pass
STATES: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    # The disaster: a naive consumer crashes before its commit; M1 is charged twice.
    "pipeline_naive_disaster": ((("p",), 0), (("i", "i", "K", "w", "w"), 10)),
    # The fixes side by side in one log: lost ack dropped by the broker, a skipped re-delivery.
    "pipeline_idempotent": ((("p",), 0), (("h", "w"), 5), (("K", "w"), 5)),
}


def _before(app: AtmApp, steps: tuple[tuple[tuple[str, ...], float], ...]) -> Callable[[Pilot[int]], object]:
    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.pause()
        for keys, seconds in steps:
            await pilot.press(*keys)
            await app.settle(seconds)
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", list(STATES))
def test_pipeline_snapshot(
    state: str, size: tuple[int, int], tmp_path: Path, snap_compare: Callable[..., bool]
) -> None:
    app = make_app(tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=_before(app, STATES[state]))
