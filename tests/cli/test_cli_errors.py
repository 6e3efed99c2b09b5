"""Bad input at the CLI: exit 2, one line on stderr naming the input, no traceback, nothing written."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import ROOT, query, run_cli

from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.cli.main import main
from atm_tui.sim.report import check_database


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_refused(proc: subprocess.CompletedProcess[str], *names: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.endswith("\n") and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stdout == ""
    for name in names:
        assert name in proc.stderr, proc.stderr


def make_bank(path: Path) -> None:
    open_sync(StoreConfig(str(path))).close()


# -- flags refused by the parser: in process (fast), the same code path as the real command ------
@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--amount", "0"], ["--amount", "'0'", "multiple of 100"]),
        (["--amount", "-5"], ["--amount", "'-5'"]),
        (["--amount", "12.5"], ["--amount", "'12.5'"]),
        (["--amount", "abc"], ["--amount", "'abc'"]),
        (["--amount", str(10**30)], ["--amount", str(10**30)]),
        (["--amount", "150"], ["--amount", "'150'", "multiple of 100"]),
        (["--amount", "Rs 5050"], ["--amount", "'Rs 5050'"]),
        (["--amount"], ["--amount", "expected one argument"]),
        (["--drop-request", "1.5"], ["--drop-request", "'1.5'", "probability from 0 to 1"]),
        (["--drop-reply", "-0.1"], ["--drop-reply", "'-0.1'"]),
        (["--duplicate", "lots"], ["--duplicate", "'lots'"]),
        (["--drop-reply", "nan"], ["--drop-reply", "'nan'"]),
        (["--duplicate", "inf"], ["--duplicate", "'inf'"]),
        (["--withdrawals", "-1"], ["--withdrawals", "'-1'"]),
        (["--withdrawals", "many"], ["--withdrawals", "'many'"]),
        (["--max-attempts", "0"], ["--max-attempts", "'0'"]),
        (["--seed", "-3"], ["--seed", "'-3'"]),
        (["--opening-balance", "-500"], ["--opening-balance", "'-500'"]),
        (["--mode", "eventual"], ["--mode", "'eventual'", "idempotent"]),
        (["--retry", "sometimes"], ["--retry", "'sometimes'", "backoff"]),
        (["--synchronous", "off"], ["--synchronous", "'off'"]),
        (["--bridge", "carrier-pigeon"], ["--bridge", "'carrier-pigeon'"]),
        (["--bogus"], ["unrecognized arguments: --bogus"]),
        (["--withdrawals", "1", "extra"], ["unrecognized arguments: extra"]),
    ],
)
def test_bad_flags(
    argv: list[str], names: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bank.db"
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--db", str(db), *argv])
    out, err = capsys.readouterr()
    assert_refused(subprocess.CompletedProcess([], int(info.value.code or 0), out, err), *names)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["frobnicate"], ["--bogus"], ["simulate", "--amount", "abc"]])
def test_bad_flags_in_a_real_process(argv: list[str], tmp_path: Path) -> None:
    proc = run_cli(*argv, "--db", str(tmp_path / "bank.db"))
    assert_refused(proc, argv[-1])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["5,000", "Rs 5000", "5000"])
def test_amounts_a_person_writes_are_accepted(text: str, tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    proc = run_cli("simulate", "--db", str(db), "--amount", text)
    assert proc.returncode == 0, proc.stderr
    assert query(str(db), "SELECT amount FROM ledger") == [(5000,)]


# -- files refused when opened: a real process, and the files checked byte for byte ------------
def test_db_in_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "bank.db"
    assert_refused(run_cli("simulate", "--db", str(db)), str(db), "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_db_that_is_a_folder(tmp_path: Path) -> None:
    assert_refused(run_cli("simulate", "--db", str(tmp_path)), str(tmp_path), "folder")
    assert list(tmp_path.iterdir()) == []


def test_read_only_db(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    make_bank(db)
    before = snapshot(tmp_path)
    db.chmod(0o444)
    try:
        assert_refused(run_cli("simulate", "--db", str(db), "--fresh"), str(db), "read-only")
    finally:
        db.chmod(0o644)
    assert snapshot(tmp_path) == before


def test_locked_db(tmp_path: Path) -> None:
    db, trace = tmp_path / "bank.db", tmp_path / "trace.jsonl"
    make_bank(db)
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        proc = run_cli("simulate", "--db", str(db), "--trace", str(trace), "--fresh")
        assert_refused(proc, str(db), "locked")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert not trace.exists()
    assert query(str(db), "SELECT count(*) FROM deliveries") == [(0,)]
    assert query(str(db), "SELECT balance FROM accounts") == [(50_000,)]


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(8192))


def _trashed_pages(path: Path) -> None:
    make_bank(path)
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(4).randbytes(len(data) - 4096)
    path.write_bytes(bytes(data))


def _not_a_bank(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "words"),
    [(_garbage, "not a SQLite database"), (_trashed_pages, "corrupt"), (_not_a_bank, "not an atm-tui bank")],
)
def test_bad_db_file_is_refused_and_untouched(
    tmp_path: Path, make: Callable[[Path], None], words: str
) -> None:
    db = tmp_path / "bank.db"
    make(db)
    before = snapshot(tmp_path)
    assert_refused(run_cli("simulate", "--db", str(db), "--fresh"), str(db), words)
    assert snapshot(tmp_path) == before


def test_trace_in_a_missing_folder_writes_nothing(tmp_path: Path) -> None:
    db, trace = tmp_path / "bank.db", tmp_path / "nope" / "trace.jsonl"
    assert_refused(run_cli("simulate", "--db", str(db), "--trace", str(trace)), str(trace), "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_trace_that_is_a_folder_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    assert_refused(
        run_cli("simulate", "--db", str(tmp_path / "bank.db"), "--trace", str(folder)), str(folder)
    )
    assert [p.name for p in tmp_path.iterdir()] == ["traces"] and list(folder.iterdir()) == []


def test_opening_balance_too_large(tmp_path: Path) -> None:
    proc = run_cli("simulate", "--db", str(tmp_path / "bank.db"), "--opening-balance", str(10**13))
    assert_refused(proc, "--opening-balance")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bridge", ["inline", "aiosqlite"])
def test_db_locked_mid_run(tmp_path: Path, bridge: str) -> None:
    """A teacher's sqlite3 shell takes the write lock while a run is going: one line, exit 2."""
    db, trace = tmp_path / "bank.db", tmp_path / "trace.jsonl"
    make_bank(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "simulate", "--db", str(db), "--withdrawals", "1000000",
         "--bridge", bridge, "--trace", str(trace)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watcher = sqlite3.connect(db, isolation_level=None, timeout=5)
    try:
        # Wait (bounded) until the run is writing, then take the lock and keep it until it exits.
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM deliveries").fetchone()[0] < 20:
            assert time.monotonic() < deadline and proc.poll() is None, "the run never started writing"
            time.sleep(0.01)
        watcher.execute("BEGIN IMMEDIATE")
        out, err = proc.communicate(timeout=60)
        watcher.execute("ROLLBACK")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.close()
    assert_refused(subprocess.CompletedProcess([], proc.returncode, out, err), str(db), "locked")
    # What was committed before the lock is whole: every invariant still holds.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert all(c.ok for c in check_database(conn, "A-1001")[3])
    finally:
        conn.close()
    # The trace ends on a whole line.
    assert trace.read_bytes().endswith(b"\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_trace_that_cannot_be_written(tmp_path: Path) -> None:
    proc = run_cli("simulate", "--db", str(tmp_path / "bank.db"), "--trace", "/dev/full")
    assert_refused(proc, "--trace /dev/full", "No space left")


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`atm-tui simulate ... | head -1`: the pipe closes under the writer."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "simulate", "--db", str(tmp_path / "b.db"), "--withdrawals", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` exiting before the report is printed
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err


def test_a_crash_flag_that_cannot_act_says_so(tmp_path: Path) -> None:
    proc = run_cli("simulate", "--db", str(tmp_path / "b.db"), "--crash-in-gap", "1")
    assert proc.returncode == 0
    note = "atm-tui: note: --crash-in-gap acts only in --mode split; the idempotent bank has no gap\n"
    assert proc.stderr == note
    assert query(str(tmp_path / "b.db"), "SELECT count(*) FROM ledger") == [(1,)]
