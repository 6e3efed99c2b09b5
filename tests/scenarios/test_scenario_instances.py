"""Two apps playing one scenario get two files; the screen names home-folder paths as ~/..."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import balance, make_app, query

from atm_tui.scenarios.instance import claim
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.app import AtmApp


def test_a_second_claim_gets_the_next_file_and_a_released_one_is_reused(tmp_path: Path) -> None:
    first = claim(tmp_path, "t123")
    second = claim(tmp_path, "t123")
    assert first.path == tmp_path / "t123.db" and second.path == tmp_path / "t123-2.db"
    assert claim(tmp_path, "naive").path == tmp_path / "naive.db"  # another scenario: its own name
    first.release()
    again = claim(tmp_path, "t123")
    assert again.path == tmp_path / "t123.db"
    assert claim(tmp_path, "t123").path == tmp_path / "t123-3.db"  # 1 and 2 are both held again


def test_a_file_held_by_another_process_is_not_taken(tmp_path: Path) -> None:
    holder = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from atm_tui.scenarios.instance import claim
        c = claim(Path({str(tmp_path)!r}), "t123")
        print(c.path.name, flush=True)
        sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "t123.db"
        assert claim(tmp_path, "t123").path.name == "t123-2.db"
    finally:
        proc.communicate("\n", timeout=30)
    # The other process has ended: its file is free again.
    assert claim(tmp_path, "t123").path.name == "t123.db"


async def _settled(app: AtmApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await app.settle(60)
    await pilot.pause()


async def test_two_instances_of_one_scenario_do_not_disturb_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / "data" / "scenarios"
    app = make_app(tmp_path, scenario="t123", scenario_dir=str(folder), shown_db=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await _settled(app, pilot)
        assert app.presenter is not None and Path(app.presenter.player.db_path) == folder / "t123.db"
        # The screen names the file from the home folder: no user name in a video.
        assert app.db_label == "~/data/scenarios/t123.db"
        for _ in range(2):
            await pilot.press("right")
            await _settled(app, pilot)
        assert app.presenter.player.position == 2
        before = query(folder / "t123.db", "SELECT txn_id, outcome FROM deliveries ORDER BY id")
        assert before == [("T123", "processed")]
        # A second app starts the same scenario meanwhile and plays it to its end on its own file.
        other = claim(folder, "t123")
        assert other.path == folder / "t123-2.db"
        second = ScenarioPlayer(load("t123"), str(other.path))
        await second.open()
        try:
            await second.goto(5)
        finally:
            await second.close()
            other.release()
        assert balance(other.path) == 45_000
        # Had they shared one file, the second run would have emptied it and left three deliveries.
        assert query(folder / "t123.db", "SELECT txn_id, outcome FROM deliveries ORDER BY id") == before
        for _ in range(3):
            await pilot.press("right")
            await _settled(app, pilot)
        assert app.presenter.player.position == 5
    # The first app's file was never emptied under it: its own story, one debit.
    assert balance(folder / "t123.db") == 45_000
    assert claim(folder, "t123").path == folder / "t123.db"  # the app released it on exit
