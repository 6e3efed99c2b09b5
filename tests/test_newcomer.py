"""What a newcomer meets first: one message per refused key, home as ~ in the screenshot notice."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import make_app


async def test_a_refused_key_says_so_once(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="t123", scenario_dir=str(tmp_path), no_animation=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        before = len(app.notices)
        await pilot.press("w")
        await pilot.pause()
        said = list(app.notices)[before:]
        assert len(said) == 1 and said[0].startswith("w is off while a scenario plays")
        await pilot.press("h", "u")
        await pilot.pause()
        assert len(app.notices) == before + 3  # one line per press, never two


async def test_screenshot_notice_writes_home_as_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    shots = tmp_path / "shots"
    app = make_app(tmp_path, screenshot_dir=str(shots))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list(shots.glob("atm-tui-*.svg"))
        assert len(saved) == 1
        notice = [n for n in app.notices if n.startswith("screenshot saved: ")]
        assert notice == [f"screenshot saved: ~/shots/{saved[0].name}"]
        assert str(tmp_path) not in notice[0]
