"""`atm-tui serve` and `atm-tui client` from the command line: bad flags, and a real client run."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from http_helpers import ledger, serve

from atm_tui.cli.main import main
from atm_tui.http.retry import retry_delay_ms


@pytest.mark.parametrize(("argv", "needle"), [
    (["serve", "--port", "70000"], "--port: '70000' is out of range; use a TCP port from 0 to 65,535"),
    (["serve", "--port", "eighty"], "--port: 'eighty' is not a whole number"),
    (["serve", "--host", "no such host"], "--host: 'no such host' is not a host"),
    (["serve", "--host", "nosuchhost.invalid"], "--host: 'nosuchhost.invalid' does not resolve"),
    (["serve", "--ttl", "0"], "--ttl: '0' is out of range"),
    (["client", "--bank", "ftp://x"], "--bank: 'ftp://x' is not a bank URL"),
    (["client", "--bank", "http://127.0.0.1:1", "--amount", "5001"], "--amount: '5001' is out of range"),
    (["client"], "the following arguments are required: --bank"),
])
def test_bad_flags_are_one_line_and_exit_2(argv: list[str], needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert needle in err and err.count("\n") == 1, err


def test_a_bad_db_path_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--db", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and err.count("\n") == 1
    assert main(["serve", "--port", "0", "--db", str(tmp_path / "no" / "bank.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--db", str(tmp_path / "b.db")]) == 2
    err = capsys.readouterr().err
    assert f"--port {port}: cannot listen there" in err and err.count("\n") == 1


def test_an_unreachable_bank_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        assert main(["client", "--bank", f"http://127.0.0.1:{port}", "--max-attempts", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot talk to the bank" in err and err.count("\n") == 1


def test_full_jitter_stays_under_the_capped_ceiling() -> None:
    rng = random.Random(4)
    for attempt in range(1, 8):
        ceiling = min(800, 100 * 2 ** (attempt - 1))
        draws = [retry_delay_ms("backoff", attempt, rng, base=100, cap=800) for _ in range(200)]
        assert 0 <= min(draws) and max(draws) <= ceiling and len(set(draws)) > 10
    assert retry_delay_ms("fixed", 5, rng, fixed=250) == 250


def test_the_http_atm_retries_lost_replies_into_replays(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db, "--drop-next", "2") as (_proc, url):
        out = subprocess.run(
            [sys.executable, "-m", "atm_tui", "client", "--bank", url, "--prefix", "T",
             "--withdrawals", "3", "--json", "--backoff-base", "20", "--timeout", "5000", "--check"],
            capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["outcomes"] == {"dispensed": 3, "declined": 0, "unknown": 0, "refused": 0}
    assert report["answers"] == {"201": 2, "201 replayed": 1, "no reply": 2}
    assert report["attempts"] == 5 and report["exactly_once"] is True
    assert report["balance_before"] - report["balance_after"] == 15_000
    assert ledger(db) == {"T123": 1, "T124": 1, "T125": 1}


def test_the_http_atm_gives_up_and_the_status_query_settles_it(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db, "--drop-next", "3") as (_proc, url):
        out = subprocess.run(
            [sys.executable, "-m", "atm_tui", "client", "--bank", url, "--prefix", "T", "--max-attempts", "3",
             "--backoff-base", "10"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "0 dispensed, 0 declined, 1 unknown" in out.stdout
    assert "status query for the unknown ones: T123 approved" in out.stdout
    assert ledger(db) == {"T123": 1}


def test_a_late_reply_makes_the_http_atm_time_out_and_retry_into_a_replay(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db, "--delay-next", "1000") as (_proc, url):
        out = subprocess.run(
            [sys.executable, "-m", "atm_tui", "client", "--bank", url, "--prefix", "T", "--json",
             "--timeout", "300", "--max-attempts", "40", "--backoff-base", "100",
             "--backoff-cap", "300", "--check"],
            capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["outcomes"]["dispensed"] == 1
    assert report["answers"]["timeout"] >= 1 and report["answers"]["201 replayed"] == 1
    assert "201" not in report["answers"]  # the first answer went to a client that had given up on it
    assert ledger(db) == {"T123": 1}
