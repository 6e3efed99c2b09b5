"""Presenter mode driven through its keys (Pilot): steps, captions, the exact step back, bad files."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import balance, make_app, palette, query

from atm_tui.cli.main import main
from atm_tui.scenarios import load
from atm_tui.ui.app import AtmApp
from atm_tui.ui.core.presenter import AUTOPLAY_HOLD
from atm_tui.ui.widgets.caption_bar import CaptionBar
from atm_tui.ui.widgets.pipeline_view import PipelinePanel

T123 = load("t123")


def presenter_app(tmp_path: Path, name: str = "t123", **overrides: Any) -> AtmApp:
    return make_app(tmp_path, scenario=name, scenario_dir=str(tmp_path), **overrides)


def caption(app: AtmApp) -> str:
    return str(app.query_one(CaptionBar).render())


async def settle(app: AtmApp, pilot: Pilot[int], seconds: float = 60) -> None:
    await app.workers.wait_for_complete()
    await app.settle(seconds)
    await pilot.pause()
    await app.settle(0)  # the panes as they stand now, whatever frame-rate timer is pending
    await pilot.pause()


async def press(app: AtmApp, pilot: Pilot[int], key: str, seconds: float = 60) -> None:
    await pilot.press(key)
    await settle(app, pilot, seconds)


async def test_right_arrow_through_every_beat(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    db = tmp_path / "t123.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        assert "step 0 of 5" in caption(app) and T123.title in caption(app)
        assert T123.summary in caption(app)
        seen = []
        for k in range(1, 6):
            await press(app, pilot, "right")
            text = caption(app)
            assert f"step {k} of 5" in text
            assert T123.steps[k - 1].caption in text
            seen.append(text)
        assert len(set(seen)) == 5
        assert "last step" in caption(app)
        # Past the end nothing more happens.
        await press(app, pilot, "right")
        assert "step 5 of 5" in caption(app)
        # The story's end, on the scenario's own file.
        assert query(db, "SELECT txn_id, amount FROM ledger") == [("T123", 5000)]
        sql = "SELECT txn_id, attempt, outcome FROM deliveries WHERE txn_id = 'T123' ORDER BY id"
        assert query(db, sql) == [
            ("T123", 1, "processed"), ("T123", 2, "replayed"), ("T123", 3, "replayed"),
        ]  # fmt: skip
        assert balance(db) == 45_000
        bank = "\n".join(str(w.render()) for w in app.query_one("#bank").query(Static))
        assert "Balance: Rs 45,000" in bank and "T123: 3 deliveries, processed once" in bank


async def test_every_next_key_and_every_back_key(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        for k, key in enumerate(("n", "pagedown", "space", "right"), start=1):
            await press(app, pilot, key)
            assert f"step {k} of 5" in caption(app), key
        assert not app.paused  # space meant "next", not "pause"
        for k, key in ((3, "left"), (2, "pageup")):
            await press(app, pilot, key)
            assert f"step {k} of 5" in caption(app), key


async def test_a_step_is_paced_by_the_clock(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await press(app, pilot, "right")  # the trap: nothing scheduled, over at once
        await press(app, pilot, "right", seconds=0.5)  # the withdrawal: 3 s of virtual time at 1x
        assert app.presenter is not None and app.presenter.in_step
        assert "playing" in caption(app) and "step 2 of 5" in caption(app)
        assert app.engine is not None and 0 < app.engine.now < 3000
        await settle(app, pilot, 5)
        assert not app.presenter.in_step and app.engine.now == 3000  # stopped at the step's end
        await settle(app, pilot, 5)
        assert app.engine.now == 3000  # between steps the clock waits for the presenter


async def test_next_while_playing_jumps_to_the_step_end(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await press(app, pilot, "right")
        await press(app, pilot, "right", seconds=0.2)
        assert app.presenter is not None and app.presenter.in_step
        await press(app, pilot, "right", seconds=0)
        assert not app.presenter.in_step and app.engine is not None and app.engine.now == 3000
        assert "step 2 of 5" in caption(app)


async def test_back_gives_the_screen_reached_forwards(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        forwards = [app.export_screenshot()]
        for _ in range(5):
            await press(app, pilot, "right")
            forwards.append(app.export_screenshot())
        assert len(set(forwards)) == 6
        for k in range(4, -1, -1):
            await press(app, pilot, "left")
            assert app.export_screenshot() == forwards[k], f"step {k} reached by going back"
        # And forwards again after going back: the same frames once more.
        await press(app, pilot, "right")
        await press(app, pilot, "right")
        assert app.export_screenshot() == forwards[2]


async def test_keys_that_change_the_story_are_refused(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    db = tmp_path / "t123.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        for key in ("w", "h", "i", "S", "c"):
            await press(app, pilot, key)
        assert app.engine is not None
        assert query(db, "SELECT count(*) FROM deliveries") == [(0,)]
        assert app.engine.network.reply.drop_next == 0 and app.engine.bank.mode == "idempotent"
        assert app.engine.compare is False and app.engine.atm.last is None
        notes = [n for n in app.notices]
        assert any("w is off while a scenario plays" in m for m in notes)
        assert app.screen.check_action("withdraw", ()) is None  # greyed out
        # The palette refuses them too (run_action checks the same rule).
        assert await app.run_action("mode('naive')", app.screen) is False
        assert app.engine.bank.mode == "idempotent"
        keybar = str(app.query_one("#keybar").render())
        assert "next" in keybar and "back" in keybar and "withdraw" not in keybar


@pytest.mark.slow  # a whole scenario, autoplayed
async def test_autoplay_reaches_the_last_step_and_stays(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, autoplay=True)
    db = tmp_path / "t123.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        for _ in range(40):
            await settle(app, pilot, AUTOPLAY_HOLD / 2)
        assert "step 5 of 5" in caption(app) and "last step" in caption(app)
        assert balance(db) == 45_000


async def test_no_animation_steps_jump_to_their_end(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, no_animation=True)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.animation_level == "none"
        await settle(app, pilot, 0)
        await press(app, pilot, "right", seconds=0)
        await press(app, pilot, "right", seconds=0)
        assert app.engine is not None and app.engine.now == 3000
        assert "step 2 of 5" in caption(app) and "playing" not in caption(app)


async def test_the_seed_option_overrides_the_scenario_seed(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, scenario_seed=7)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        assert app.presenter is not None and app.presenter.player.seed == 7
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        assert app.presenter is not None and app.presenter.player.seed == T123.seed


KAFKA = load("kafka")
KAFKA_CHARGES = (
    "SELECT txn_id, count(*) FROM ledger WHERE operation = 'charge' GROUP BY txn_id ORDER BY min(id)"
)


def pipeline_text(app: AtmApp) -> str:
    return str(app.query_one(PipelinePanel).render())


def bank_text(app: AtmApp) -> str:
    return "\n".join(str(w.render()) for w in app.query_one("#bank").query(Static))


@pytest.mark.slow  # the whole kafka scenario
async def test_kafka_plays_in_the_pipeline_view(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, "kafka")
    db = tmp_path / "kafka.db"
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        # The live pipeline mode's panes: the pipeline view instead of the diagram, no ATM.
        assert app.pipeline_mode and app.query_one("#network").has_class("-pipeline")
        assert not app.query("#atm")  # the pipeline screen has no ATM pane
        assert app.pipeline is None and app.shown_pipeline is app.presenter.player.pipeline  # type: ignore[union-attr]
        assert "consumer ○ idle epoch 1 · naive" in pipeline_text(app)
        for k in range(1, 3):
            await press(app, pilot, "right")
            assert f"step {k} of 11" in caption(app)
        assert "✕ DOWN" in pipeline_text(app)  # the consumer died before its commit
        assert query(db, KAFKA_CHARGES) == [("M1", 1), ("M2", 1)]
        await press(app, pilot, "right")  # the naive replacement charges M2 again
        assert "step 3 of 11" in caption(app)
        text = pipeline_text(app)
        assert "M2    1000/0/1   ⚠ DOUBLE: charged 2x" in text and "⚠ double-charged 1" in text
        assert "⚠ M2 CHARGED AGAIN (2x)" in text
        assert query(db, KAFKA_CHARGES) == [("M1", 1), ("M2", 2)]
        bank = bank_text(app)
        assert "⚠ M2: debited twice" in bank and "Balance: Rs 44,000" in bank
        while not app.presenter.player.done:  # type: ignore[union-attr]
            await press(app, pilot, "right")
        assert "step 11 of 11" in caption(app) and "last step" in caption(app)
        # The claims on the file (tests/scenarios/test_kafka_scenario.py): only M2 twice, Rs 36,000.
        assert query(db, KAFKA_CHARGES) == [("M1", 1), ("M2", 2), ("M3", 1), ("M4", 1), ("M5", 1), ("M6", 1)]
        assert balance(db) == 36_000
        keys = dict(query(db, "SELECT key, hits FROM idempotency_keys"))
        assert keys == {"M3": 2, "M4": 1, "M5": 1, "M6": 2}
        assert query(db, "SELECT next_offset FROM consumer_offsets") == [(7,)]
        text = pipeline_text(app)
        assert "⧉ in log 2x" in text and "⚠ double-charged 1" in text and "dup dropped 1" in text
        bank = bank_text(app)
        assert "Balance: Rs 36,000" in bank and "⚠ M2: debited twice" in bank
        # The pipeline scenario's keys are the presenter's: the live pipeline's are refused.
        await press(app, pilot, "p")
        await press(app, pilot, "k")
        assert app.pipeline is None and app.screen.check_action("produce", ()) is False
        assert balance(db) == 36_000
        assert any("p is off while a scenario plays" in n for n in app.notices)


@pytest.mark.slow
async def test_kafka_back_gives_the_screen_reached_forwards(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, "kafka")
    steps = len(KAFKA.steps)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        forwards = [app.export_screenshot()]
        for _ in range(steps):
            await press(app, pilot, "right")
            forwards.append(app.export_screenshot())
        assert len(set(forwards)) == steps + 1
        for k in range(steps - 1, -1, -1):
            await press(app, pilot, "left")
            assert app.export_screenshot() == forwards[k], f"step {k} reached by going back"
        assert query(tmp_path / "kafka.db", "SELECT count(*) FROM ledger") == [(0,)]
        for _ in range(3):
            await press(app, pilot, "right")
        assert app.export_screenshot() == forwards[3]
        assert query(tmp_path / "kafka.db", KAFKA_CHARGES) == [("M1", 1), ("M2", 2)]


async def test_a_kafka_step_is_paced_by_the_clock(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, "kafka")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await press(app, pilot, "right")
        await press(app, pilot, "right", seconds=0.5)  # M2 and the crash: 1.5 s of virtual time
        player = app.presenter.player  # type: ignore[union-attr]
        assert app.presenter is not None and app.presenter.in_step and "playing" in caption(app)
        assert player.pipeline is not None
        start = player.step_target - 1500  # type: ignore[operator]
        assert start < player.pipeline.now < player.step_target  # type: ignore[operator]
        await settle(app, pilot, 5)
        assert not app.presenter.in_step and player.pipeline.now == player.step_target
        await settle(app, pilot, 5)
        assert player.pipeline.now == start + 1500  # between steps the clock waits for the presenter


async def test_leaving_kafka_returns_to_the_atm_view(tmp_path: Path) -> None:
    app = presenter_app(tmp_path, "kafka")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await press(app, pilot, "right")
        await palette(pilot, "leave it")
        await settle(app, pilot, 0)
        assert app.presenter is None and not app.pipeline_mode
        assert not app.query_one("#network").has_class("-pipeline")
        await press(app, pilot, "w")
        assert query(tmp_path / "bank.db", "SELECT txn_id FROM ledger") == [("T123",)]


BAD_FILES = {
    "bad_toml": ('title = "x"\nsummary = "y"\n[[steps]]\ncaption = "a\n', "line 4"),
    "unknown_action": (
        'title = "x"\nsummary = "y"\n\n[[steps]]\ncaption = "a"\nactions = ["withdrew"]\n',
        "line 6: step 1: unknown action 'withdrew'",
    ),
    "no_caption": (
        'title = "x"\nsummary = "y"\n\n[[steps]]\nactions = ["withdraw"]\n', "line 4: step 1 has no caption"
    ),
}


@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_bad_file_on_the_command_line_is_one_line(bad: str, tmp_path: Path) -> None:
    path = tmp_path / f"{bad}.toml"
    text, expected = BAD_FILES[bad]
    path.write_text(text)
    out = subprocess.run([sys.executable, "-m", "atm_tui", "--scenario", str(path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"scenario {path}, {expected}" in out.stderr
    assert out.stdout == ""  # the screen never opened


@pytest.mark.parametrize("bad", list(BAD_FILES))
async def test_bad_file_chosen_in_the_app_is_shown_and_the_app_goes_on(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Typed as a person in the file's folder would: its name (a path typed in full is the same
    # command, one keystroke at a time).
    monkeypatch.chdir(tmp_path)
    path = Path(f"{bad}.toml")
    text, expected = BAD_FILES[bad]
    path.write_text(text)
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await press(app, pilot, "right")
        await palette(pilot, str(path))
        await settle(app, pilot, 0)
        notes = [n for n in app.notices]
        assert any(f"scenario {path}, {expected}" in m for m in notes), notes
        # Still presenting t123, where it was, and it still steps.
        assert "step 1 of 5" in caption(app)
        await press(app, pilot, "right")
        assert "step 2 of 5" in caption(app)


@pytest.mark.slow  # a whole scenario, and two commands typed out in the palette
async def test_palette_plays_a_scenario_on_its_own_file(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario_dir=str(tmp_path / "scenarios"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        assert balance(tmp_path / "bank.db") == 45_000
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Scenario: naive")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot, 0)
        assert app.presenter is not None and app.presenter.scenario.name == "naive"
        while not app.presenter.player.done:
            await press(app, pilot, "right")
        assert balance(tmp_path / "scenarios" / "naive.db") == 35_000
        # The user's bank was closed, not touched.
        assert balance(tmp_path / "bank.db") == 45_000
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM ledger") == [(1,)]
        # Leave the scenario from the palette: the app is back on the user's bank, keys work again.
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"leave it")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot, 0)
        assert app.presenter is None and not app.query_one(CaptionBar).display
        await pilot.press("w")
        await settle(app, pilot, 60)
        assert query(tmp_path / "bank.db", "SELECT txn_id FROM ledger ORDER BY id") == [("T123",), ("T124",)]
        assert balance(tmp_path / "bank.db") == 40_000
        assert balance(tmp_path / "scenarios" / "naive.db") == 35_000


async def test_space_still_pauses_outside_a_scenario(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        assert app.paused
        await pilot.press("n", "right")
        await settle(app, pilot, 1)
        assert app.presenter is None and app.engine is not None and app.engine.atm.last is None


async def test_the_palette_pause_still_pauses_in_a_scenario(tmp_path: Path) -> None:
    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await app.run_action("pause", app.screen)
        assert app.paused
        await press(app, pilot, "right", seconds=5)
        assert app.presenter is not None and app.presenter.in_step  # the clock is paused
        await app.run_action("pause", app.screen)
        await settle(app, pilot, 1)
        assert not app.presenter.in_step and "step 1 of 5" in caption(app)


def test_autoplay_needs_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--autoplay"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--autoplay plays a scenario; add --scenario NAME" in err


def test_db_with_a_scenario_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = tmp_path / "mine.db"
    assert main(["--scenario", "t123", "--db", str(bank)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "never on your bank" in err
    assert not bank.exists()


def test_seed_defaults() -> None:
    from atm_tui.cli.parser import build_parser

    parser = build_parser()
    assert parser.parse_args([]).seed is None  # the app: 0, or the scenario's own
    assert parser.parse_args(["simulate"]).seed == 0
    assert parser.parse_args(["--seed", "5"]).seed == 5


async def test_without_a_scenario_the_app_uses_seed_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import atm_tui.ui.app as app_module

    seen: list[int] = []

    def fake_run(self: AtmApp) -> int:
        seen.append(self.settings.seed)
        return 0

    monkeypatch.setattr(app_module.AtmApp, "run", fake_run)
    assert main(["--db", str(tmp_path / "bank.db")]) == 0
    assert seen == [0]


@pytest.mark.slow
def test_svg_frames_are_byte_identical(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        out = str(tmp_path / folder)
        assert main(["export", "--scenario", "t123", "--seed", "99", "--frames", "svg", "--out", out]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    svgs = [f"frame-{k:03d}.svg" for k in range(1, 6)]
    assert names == ["captions.vtt", "events.jsonl", *svgs, "keys.vtt", "summary.json", "t123.cast"]
    frames = [(tmp_path / "a" / n).read_text() for n in names if n.endswith(".svg")]
    assert len(set(frames)) == 5
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # The real screen, with the step's counter, and no temporary path in it.
    third = frames[2].replace("&#160;", " ")
    assert "step 3 of 5" in third and "scenarios/t123.db" in third
    assert str(tmp_path) not in third and "/tmp" not in third and tempfile.gettempdir() not in third


@pytest.mark.slow
def test_svg_frames_of_the_pipeline_scenario(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        out = str(tmp_path / folder)
        assert main(["export", "--scenario", "kafka", "--frames", "svg", "--out", out]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len([n for n in names if n.endswith(".svg")]) == len(KAFKA.steps)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # The pipeline view itself: the log, the double charge, the bank pane's flag.
    third = (tmp_path / "a" / "frame-003.svg").read_text().replace("&#160;", " ")
    assert "step 3 of 11" in third and "Pipeline: payments log" in third
    assert "⚠ DOUBLE: charged 2x" in third and "⚠ M2: debited twice" in third


async def _at_step(app: AtmApp, pilot: Pilot[int], k: int) -> None:
    await settle(app, pilot, 0)
    for _ in range(k):
        await press(app, pilot, "right")


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_caption_bar_mid_scenario(
    size: tuple[int, int], tmp_path: Path, snap_compare: Any
) -> None:
    app = presenter_app(tmp_path)

    async def run_before(pilot: Pilot[int]) -> None:
        await _at_step(app, pilot, 3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_help_lists_the_presenter_keys_and_the_refused_ones(tmp_path: Path) -> None:
    from atm_tui.ui.screens.modals import HelpScreen

    app = presenter_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, 0)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        # The keys are a two-column table: read its cells, not the wrapped lines.
        table = app.screen.query_one("#help-keys", Static).content
        assert isinstance(table, Table)
        keys, descriptions = (list(col.cells) for col in table.columns)
        text = "\n".join(f"{k} {d}" for k, d in zip(keys, descriptions, strict=True))
        assert "Scenario: next step (also n, space, Page Down)" in text
        assert "unless m changed it) (off while a scenario plays)" in text


def test_the_command_line_scenario_gets_its_own_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import atm_tui.ui.app as app_module

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    seen: list[Any] = []

    def fake_run(self: Any) -> int:
        seen.append(self.settings)
        return 0

    monkeypatch.setattr(app_module.AtmApp, "run", fake_run)
    assert main(["--scenario", "t123", "--autoplay", "--no-animation"]) == 0
    s = seen[0]
    assert s.scenario == "t123" and s.scenario_seed is None and s.autoplay and s.no_animation
    assert Path(s.scenario_dir) == tmp_path / "atm-tui" / "scenarios"
    assert Path(s.db) == tmp_path / "atm-tui" / "bank.db"  # the user's bank: opened only on leaving
    assert not Path(s.db).exists()
