"""The student's ATM over real HTTP: its keys, its faults, the interactive app, and a class at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from http_helpers import http_bank, serve
from textual.pilot import Pilot
from textual.widgets import RichLog
from ui_helpers import query

from atm_tui.cli.main import main
from atm_tui.http.student import REPLY_LOST, REQUEST_LOST, StudentConfig
from atm_tui.ui.student_app import NameScreen, StudentApp


def fast(url: str, name: str, amount: int = 5_000) -> StudentConfig:
    """Short waits: a lost reply or request costs one 150 ms timeout, and the retry follows at once."""
    return StudentConfig(url=url, name=name, amount=amount, timeout_ms=150, retry="fixed", backoff_base=0)


def log_text(app: StudentApp) -> str:
    return "\n".join(line.text for line in app.query_one("#log", RichLog).lines)


async def wait_idle(app: StudentApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.slow  # a real HTTP bank and a reply lost on the way back
async def test_the_student_app_loses_a_reply_retries_and_the_bank_debits_once(tmp_path: Path) -> None:
    with http_bank(tmp_path) as bank:
        app = StudentApp(fast(bank.url, "alice", 1_000))
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_idle(app, pilot)
            await pilot.press("h", "w")  # lose the next reply, then withdraw
            await wait_idle(app, pilot)
            rows = bank.query("SELECT txn_id, outcome, client_id FROM deliveries ORDER BY id")
            assert rows == [("alice-T123", "processed", "alice"), ("alice-T123", "replayed", "alice")]
            assert bank.query("SELECT txn_id, client_id FROM ledger") == [("alice-T123", "alice")]
            text = log_text(app)
            assert f"alice-T123 #1 → {REPLY_LOST}" in text and "alice-T123 #2 → 201 replayed" in text
            assert "cash dispensed" in str(app.query_one("#outcome").render())

            await pilot.press("H", "w")  # lose the next request: it never reaches the bank
            await wait_idle(app, pilot)
            assert bank.query("SELECT attempt, outcome FROM deliveries WHERE txn_id = 'alice-T124'") == [
                (1, "processed")]
            assert f"alice-T124 #1 → {REQUEST_LOST}" in log_text(app)

            await pilot.press("u", "w")  # the same request sent twice: one debit
            await wait_idle(app, pilot)
            outcomes = sorted(str(r[0]) for r in bank.query(
                "SELECT outcome FROM deliveries WHERE txn_id = 'alice-T125'"))
            assert outcomes in (["processed", "replayed"], ["in_progress", "processed"])
            assert bank.query("SELECT count(*) FROM ledger WHERE txn_id = 'alice-T125'") == [(1,)]

            await pilot.press("a", "h", "w")  # no automatic retry: the reply is lost, the outcome unknown
            await wait_idle(app, pilot)
            assert "unknown" in str(app.query_one("#outcome").render())
            await pilot.press("s")  # the status query tells the truth
            await wait_idle(app, pilot)
            assert "status query alice-T126: approved, debited 1 time(s)" in log_text(app)
            await pilot.press("r")  # the retry gets the stored reply
            await wait_idle(app, pilot)
            assert bank.query("SELECT outcome FROM deliveries WHERE txn_id = 'alice-T126' ORDER BY id") == [
                ("processed",), ("replayed",)]
            await pilot.press("q")
        assert app.return_code == 0 and not app.is_running


async def test_a_browser_tab_asks_the_name_and_refuses_a_bad_one(tmp_path: Path) -> None:
    with http_bank(tmp_path) as bank:
        app = StudentApp(fast(bank.url, "atm-x"), ask_name=True)
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.screen, NameScreen)
            await pilot.press(*"no way", "enter")
            assert isinstance(app.screen, NameScreen)
            assert "is not a name" in str(app.screen.query_one("#name-error").render())
            await pilot.press("ctrl+u", *"dana", "enter")
            await wait_idle(app, pilot)
            assert not isinstance(app.screen, NameScreen)
            await pilot.press("w")
            await wait_idle(app, pilot)
        assert bank.query("SELECT txn_id, client_id FROM ledger") == [("dana-T123", "dana")]


@pytest.mark.slow
def test_thirty_clients_at_once_with_faults_one_debit_per_key_on_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "class.db"
    with serve(db, "--fresh", "--opening-balance", "1000000") as (_, url):
        code = main(["client", "--bank", url, "--clients", "30", "--withdrawals", "3", "--amount", "100",
                     "--drop-reply", "0.3", "--drop-request", "0.1", "--duplicate", "0.1", "--timeout", "300",
                     "--retry", "fixed", "--backoff-base", "0", "--max-attempts", "5", "--json", "--check"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["exactly_once"] is True
    names = [c["name"] for c in report["clients"]]
    assert names == [f"student{n:02d}" for n in range(1, 31)]
    # The file: every client wrote under its own name, and no key was debited twice.
    assert {str(r[0]) for r in query(db, "SELECT DISTINCT client_id FROM deliveries")} == set(names)
    assert query(db, "SELECT txn_id FROM ledger GROUP BY txn_id HAVING count(*) > 1") == []
    for lane in report["clients"]:
        rows = query(db, "SELECT count(*), coalesce(sum(amount), 0) FROM ledger WHERE client_id = ?",
                     lane["name"])
        assert rows == [(lane["debits"], 100 * lane["debits"])]
        assert lane["outcomes"]["dispensed"] <= lane["debits"] <= 3
    # Faults really happened, and the link lost replies after the bank had answered (replays follow).
    assert sum(c["replies_lost"] for c in report["clients"]) > 0
    assert query(db, "SELECT count(*) FROM deliveries WHERE outcome = 'replayed'")[0][0] > 0
    total = query(db, "SELECT count(*) FROM ledger")[0][0]
    assert report["balance_before"] - report["balance_after"] == 100 * total


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refuses a flag's value this way
        return int(exc.code or 0)


@pytest.mark.parametrize("argv, named", [
    (["--clients", "3", "--drop-reply", "1.5"], "--drop-reply: '1.5' is not a probability"),
    (["--name", "a b", "--interactive"], "--name: 'a b' is not a client name"),
    (["--drop-reply", "0.3"], "--drop-request, --drop-reply and --duplicate go with --clients N"),
    (["--clients", "0"], "argument --clients: '0'"),
    (["--clients", "2", "--interactive"], "pick one"),
])
def test_bad_class_input_is_one_line_and_exit_2(argv: list[str], named: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["client", "--bank", "http://127.0.0.1:9", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and err.count("\n") == 1 and "Traceback" not in err
