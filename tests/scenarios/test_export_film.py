"""An export runs one app for all its frames and its cast, and draws what a fresh app would draw."""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from atm_tui.scenarios.export import FrameOptions, Staging, build
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.app import AtmApp
from atm_tui.ui.capture import frames
from atm_tui.ui.capture.frames import FRAME_SIZE, capture, filming


@pytest.mark.slow  # a whole export
def test_one_app_serves_a_whole_export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[tuple[int, int]] = []
    run_test = AtmApp.run_test

    def counted(app: AtmApp, *args: Any, **kwargs: Any) -> Any:
        started.append(kwargs["size"])
        return run_test(app, *args, **kwargs)

    monkeypatch.setattr(AtmApp, "run_test", counted)
    staged = Staging(tmp_path)
    # --clean: the frames hide the key bar, the cast shows it; --step-starts: two frames a step.
    asyncio.run(build(load("t123"), staged, frames="png", options=FrameOptions(clean=True, starts=True)))
    assert sum(name.startswith("frame-") for name in staged.names) == 11  # the title, 5 starts, 5 ends
    assert "t123.cast" in staged.names
    assert started == [FRAME_SIZE]


@pytest.mark.slow  # a fresh app for every step of the scenario, twice
@pytest.mark.parametrize("clean", [True, False])
async def test_each_shot_is_what_a_fresh_app_draws(clean: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        player = ScenarioPlayer(load("kafka"), str(Path(tmp) / "k.db"))
        await player.open()
        try:
            async with filming(player):
                for _ in range(4):
                    await player.next()
                    # The cast's look (key bar shown), then the frame's, from the one app.
                    cast = await capture(player, FRAME_SIZE, clean=False, svg=False)
                    shot = await capture(player, FRAME_SIZE, clean=clean)
                    alone_cast = await _alone(player, clean=False)
                    alone = await _alone(player, clean=clean)
                    assert cast.rows == alone_cast.rows, player.counter
                    assert shot.svg == alone.svg and shot.rows == alone.rows, player.counter
        finally:
            await player.close()


async def _alone(player: ScenarioPlayer, clean: bool) -> frames.Capture:
    """The same screen from an app started for it alone (outside the export's film)."""
    async with AsyncExitStack() as stack:
        return await frames.Film(player, stack).shot(FRAME_SIZE, clean, captions=True, svg=True)
