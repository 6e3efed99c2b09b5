"""The UI's Textual-free core without an App: Pacer, BankReader, Presenter and Session."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from ui_helpers import balance, query

from atm_tui.scenarios import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.ui.core.bank_reader import BankReader
from atm_tui.ui.core.pacer import ATM, PIPELINE, SPEEDS, FakeClock, Pacer
from atm_tui.ui.core.presenter import AUTOPLAY_HOLD, Presenter, autoplay_hold
from atm_tui.ui.core.session import Session
from atm_tui.ui.core.session_events import BANKS, KEY, MODE, NOTICE, PRESENTER, Change
from atm_tui.ui.core.settings import Settings


# -- Pacer ---------------------------------------------------------------------------------------
def test_pacer_runs_wall_seconds_times_the_speed() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, speed=2.0)
    pacer.sync(500)
    clock.advance(1.5)
    assert pacer.target(500) == 500 + 3000
    clock.advance(0.25)
    assert pacer.target(3500) == 4000


def test_pacer_never_runs_behind_the_runner_and_keeps_each_lane() -> None:
    clock = FakeClock()
    pacer = Pacer(clock)
    clock.advance(1)
    assert pacer.target(10_000, ATM) == 11_000  # the runner was ahead: from its time on
    clock.advance(1)
    assert pacer.target(0, PIPELINE) == 1000  # the other lane has its own virtual time
    clock.advance(1)
    assert pacer.target(11_000, ATM) == 12_000


def test_pacer_paused_or_without_elapsed_time_gives_no_target() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, speed=0)
    assert pacer.paused
    clock.advance(5)
    assert pacer.target(0) is None
    assert pacer.toggle_pause() is False
    assert pacer.target(0) is None  # the pause's wall time is not run afterwards
    clock.advance(1)
    assert pacer.target(0) == 1000


def test_pacer_speed_steps_stay_within_the_range() -> None:
    pacer = Pacer(FakeClock())
    assert [pacer.step_speed(+1) for _ in range(4)] == [2.0, 4.0, 4.0, 4.0]
    assert [pacer.step_speed(-1) for _ in range(6)][-1] == SPEEDS[0]


# -- BankReader ----------------------------------------------------------------------------------
async def test_bank_reader_coalesces_requests_into_few_reads() -> None:
    reads: list[float] = []
    now = [0.0]

    async def read() -> None:
        reads.append(now[0])
        await asyncio.sleep(0)

    reader = BankReader(read, ready=lambda: True, on_error=lambda exc: None, per_second=1000,
                        clock=lambda: now[0])
    for _ in range(50):
        reader.request()
    await reader.idle()
    assert len(reads) == 1 and reader.reads == 1 and not reader.busy and not reader.pending
    reader.request()
    await reader.idle()
    assert len(reads) == 2


async def test_bank_reader_waits_between_reads() -> None:
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def read() -> None:
        started.append(loop.time())
        if len(started) == 1:
            reader.request()  # a commit during the first read: a second read, later

    reader = BankReader(read, ready=lambda: True, on_error=lambda exc: None, per_second=20,
                        clock=loop.time)
    reader.request()
    await reader.idle()
    assert len(started) == 2
    assert started[1] - started[0] >= 1 / 20 - 0.005


async def test_bank_reader_stops_when_not_ready_and_reports_errors() -> None:
    ready = [False]
    errors: list[Exception] = []

    async def read() -> None:
        raise sqlite3.OperationalError("database is locked")

    reader = BankReader(read, ready=lambda: ready[0], on_error=errors.append)
    reader.request()
    await reader.idle()
    assert errors == [] and reader.pending  # nothing read while there is no bank to read
    ready[0] = True
    await reader.idle()  # due again now: it reads, and the error is reported, not raised
    assert [str(e) for e in errors] == ["database is locked"]


# -- Presenter -----------------------------------------------------------------------------------
async def test_presenter_steps_and_steps_back_without_an_app(tmp_path: Path) -> None:
    clock = FakeClock()
    player = await ScenarioPlayer(load("t123"), str(tmp_path / "t123.db")).open()
    try:
        presenter = Presenter(player, wall=clock)
        assert presenter.counter == f"step 0 of {player.total}" and presenter.state == ""
        assert await presenter.next()
        assert presenter.in_step and presenter.state == "▶ playing" and presenter.shown_step == 1
        runner = presenter.runner
        assert runner is not None
        while not await presenter.advance(runner.now + 500):
            pass
        assert not presenter.in_step and player.position == 1
        assert presenter.caption == load("t123").steps[0].caption
        assert await presenter.back()
        assert player.position == 0 and presenter.counter == f"step 0 of {player.total}"
    finally:
        await presenter.close()


async def test_presenter_autoplay_waits_its_hold(tmp_path: Path) -> None:
    clock = FakeClock()
    player = await ScenarioPlayer(load("t123"), str(tmp_path / "t123.db")).open()
    try:
        presenter = Presenter(player, wall=clock, autoplay=True, instant=True)
        hold = autoplay_hold(player)  # the title beat's own: its summary's reading time
        assert hold >= AUTOPLAY_HOLD
        clock.advance(hold - 0.5)
        assert not presenter.autoplay_due()
        clock.advance(0.5)
        assert presenter.autoplay_due() and not presenter.autoplay_due()  # once per finished step
        assert await presenter.next()  # instant: the step runs to its end at once
        assert not presenter.in_step and player.position == 1
    finally:
        await presenter.close()


async def test_presenter_hold_override_and_exit_at_end(tmp_path: Path) -> None:
    clock = FakeClock()
    player = await ScenarioPlayer(load("t123"), str(tmp_path / "t123.db")).open()
    presenter = Presenter(player, wall=clock, autoplay=True, instant=True, hold=1.0, exit_at_end=True)
    try:
        while not player.done:
            clock.advance(0.9)
            assert not presenter.autoplay_due()  # --hold 1: every step waits one second, no less
            clock.advance(0.1)
            assert presenter.autoplay_due()
            assert await presenter.next()
        clock.advance(1.0)
        assert presenter.autoplay_due()  # once more after the last step: the app ends on it
    finally:
        await presenter.close()


# -- Session -------------------------------------------------------------------------------------
def make_session(tmp_path: Path, heard: list[Change], **overrides: object) -> Session:
    settings = Settings(db=str(tmp_path / "bank.db"), fresh=True, wall=FakeClock(), shown_db="bank.db")
    for name, value in overrides.items():
        setattr(settings, name, value)

    def no_pipeline(t0: int) -> object:
        raise AssertionError("the pipeline is not used here")

    return Session(settings, heard.append, no_pipeline)  # type: ignore[arg-type]


async def test_session_runs_the_story_without_an_app(tmp_path: Path) -> None:
    heard: list[Change] = []
    session = make_session(tmp_path, heard)
    await session.open()
    try:
        assert session.error == "" and session.engine is not None and session.reader.reads == 1
        clock = session.settings.wall
        assert isinstance(clock, FakeClock)
        session.engine.drop_next_replies(2)
        session.engine.withdraw()
        for _ in range(60):
            clock.advance(1)
            await session.pace()
        await session.settled()
        db = tmp_path / "bank.db"
        assert query(db, "SELECT txn_id, amount FROM ledger") == [("T123", 5000)]
        assert query(db, "SELECT count(*) FROM deliveries WHERE txn_id = 'T123'") == [(3,)]
        assert balance(db) == 45_000
        # The panes' model says what the file says, and the app was told to draw it.
        assert session.view.tally.counts["deliveries"] == 3
        assert any(e.kind == KEY for e in heard)  # the keys' Control events
        assert any(e.kind == BANKS for e in heard)
        snap = session.snapshots[0][1]
        assert snap.balance == 45_000
    finally:
        await session.close()


async def test_session_paused_does_not_move_the_clock(tmp_path: Path) -> None:
    session = make_session(tmp_path, [], speed=0)
    await session.open()
    try:
        assert session.engine is not None and session.pacer.paused
        session.engine.withdraw()
        clock = session.settings.wall
        assert isinstance(clock, FakeClock)
        clock.advance(30)
        await session.pace()
        assert session.engine.now == 0
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM deliveries") == [(0,)]
    finally:
        await session.close()


async def test_session_reset_empties_the_bank_and_starts_again_at_t123(tmp_path: Path) -> None:
    heard: list[Change] = []
    session = make_session(tmp_path, heard)
    await session.open()
    try:
        assert session.engine is not None
        session.engine.withdraw()
        clock = session.settings.wall
        assert isinstance(clock, FakeClock)
        clock.advance(10)
        await session.pace()
        assert balance(tmp_path / "bank.db") == 45_000
        await session.reset()
        await session.settled()
        assert balance(tmp_path / "bank.db") == 50_000
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM ledger") == [(0,)]
        assert session.engine.withdraw() == "T123"
        assert any(e.kind == NOTICE and e.notice and "bank reset" in e.notice.message for e in heard)
    finally:
        await session.close()


async def test_session_plays_a_scenario_and_leaves_it(tmp_path: Path) -> None:
    heard: list[Change] = []
    session = make_session(tmp_path, heard, scenario="t123", scenario_dir=str(tmp_path / "scenarios"))
    await session.open()
    try:
        presenter = session.presenter
        assert session.error == "" and presenter is not None and session.engine is not None
        assert any(e.kind == MODE for e in heard)
        assert any(e.kind == PRESENTER for e in heard)
        await session.scenarios.next_step()
        assert presenter.in_step
        clock = session.settings.wall
        assert isinstance(clock, FakeClock)
        while presenter.in_step:
            clock.advance(1)
            await session.pace()
        assert presenter.player.position == 1
        await session.scenarios.previous_step()
        assert presenter.player.position == 0 and session.engine is not None
        await session.scenarios.leave()
        assert session.presenter is None and session.db_label == "bank.db"
        assert session.engine is not None and session.engine.bank.config.path == str(tmp_path / "bank.db")
    finally:
        await session.close()


async def test_session_on_a_file_that_is_not_sqlite_sets_one_error(tmp_path: Path) -> None:
    (tmp_path / "bank.db").write_text("not a database, just text\n" * 100)
    session = make_session(tmp_path, [], fresh=False)
    await session.open()
    assert "not a SQLite database" in session.error and session.engine is None
    await session.close()


def test_the_session_is_usable_with_textual_absent(tmp_path: Path) -> None:
    # The App is not needed to run the Session: here Textual cannot even be imported.
    import subprocess

    code = f"""
import asyncio, sys
sys.modules["textual"] = None
from atm_tui.ui.core.pacer import FakeClock
from atm_tui.ui.core.session import Session
from atm_tui.ui.core.settings import Settings

async def main():
    clock = FakeClock()
    s = Session(Settings(db={str(tmp_path / "t.db")!r}, fresh=True, wall=clock), lambda e: None, None)
    await s.open()
    s.engine.withdraw()
    clock.advance(5)
    await s.pace()
    await s.settled()
    print(s.snapshots[0][1].balance)
    await s.close()

asyncio.run(main())
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "45000"


def test_the_settings_default_theme_is_the_apps_default_theme() -> None:
    from atm_tui.ui.themes import DEFAULT

    assert Settings(db="x.db").theme == DEFAULT.name
