"""`atm-tui simulate --pipeline log` as a user runs it: the disaster, its fixes, bad input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atm_tui.bank.store import StoreConfig, open_sync

ROOT = Path(__file__).resolve().parents[2]
DISASTER = ["simulate", "--pipeline", "log", "--crash-before-commit", "0.2", "--seed", "7", "--json"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m atm_tui ...` in a real process."""
    return subprocess.run(
        [sys.executable, "-m", "atm_tui", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )


def ledger_charges(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(
            conn.execute("SELECT txn_id, count(*) FROM ledger WHERE operation = 'charge' GROUP BY txn_id")
        )
    finally:
        conn.close()


def test_the_naive_consumer_double_charges(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    # Exactly the command of the issue, with --db added so the file can be read afterwards.
    out = cli(
        "simulate",
        "--pipeline",
        "log",
        "--consumer",
        "naive",
        "--crash-before-commit",
        "0.2",
        "--seed",
        "7",
        "--json",
        "--db",
        str(db),
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["counts"]["double_charges"] > 0
    assert report["counts"]["declined"] == 0
    assert report["invariants"]["each_message_charged_once"]["ok"] is False
    doubled = {m: n for m, n in ledger_charges(db).items() if n > 1}
    assert sorted(f"{m} x{n}" for m, n in doubled.items()) == sorted(report["double_charged"])
    assert report["balance_before"] - report["balance_after"] == sum(ledger_charges(db).values()) * 500


@pytest.mark.parametrize("mode", ["idempotent", "transactional"])
def test_the_same_seed_with_deduplication_charges_once(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "bank.db"
    out = cli(
        "simulate",
        "--pipeline",
        "log",
        "--consumer",
        mode,
        "--crash-before-commit",
        "0.2",
        "--seed",
        "7",
        "--json",
        "--db",
        str(db),
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["counts"]["double_charges"] == 0 and report["double_charged"] == []
    assert report["counts"]["consumer_crashes"] > 0  # the same faults struck
    assert report["ok"] is True
    assert ledger_charges(db) == {f"M{n}": 1 for n in range(1, 21)}
    assert report["balance_after"] == report["balance_before"] - 20 * 500


def test_the_disaster_command_charges_twice_only_with_the_naive_consumer() -> None:
    """The documented disaster command under each consumer mode (a temporary database each)."""
    doubles = {}
    for mode in ("naive", "idempotent", "transactional"):
        out = cli(*DISASTER[:3], "--consumer", mode, *DISASTER[3:])
        assert out.returncode == 0, out.stderr
        doubles[mode] = json.loads(out.stdout)["counts"]["double_charges"]
    assert doubles["naive"] > 0 and doubles["idempotent"] == 0 and doubles["transactional"] == 0


def test_check_exits_1_on_a_violation_and_the_text_names_it(tmp_path: Path) -> None:
    out = cli(
        "simulate",
        "--pipeline",
        "log",
        "--consumer",
        "naive",
        "--crash-before-commit",
        "0.2",
        "--seed",
        "7",
        "--check",
        "--db",
        str(tmp_path / "a.db"),
    )
    assert out.returncode == 1
    assert "exactly-once invariant VIOLATED: each_message_charged_once: charged more than once" in out.stdout
    ok = cli(
        "simulate",
        "--pipeline",
        "log",
        "--consumer",
        "transactional",
        "--crash-before-commit",
        "0.2",
        "--lost-ack",
        "0.3",
        "--no-producer-idempotent",
        "--seed",
        "7",
        "--check",
        "--db",
        str(tmp_path / "b.db"),
    )
    assert ok.returncode == 0, ok.stdout
    assert "exactly-once invariants: all hold" in ok.stdout


def test_same_seed_same_trace_through_the_cli(tmp_path: Path) -> None:
    traces = []
    for name in ("a", "b"):
        trace = tmp_path / f"{name}.jsonl"
        out = cli(
            "simulate",
            "--pipeline",
            "log",
            "--lost-ack",
            "0.3",
            "--crash-before-commit",
            "0.2",
            "--zombie",
            "0.1",
            "--partitions",
            "2",
            "--seed",
            "3",
            "--db",
            str(tmp_path / f"{name}.db"),
            "--trace",
            str(trace),
        )
        assert out.returncode == 0, out.stderr
        traces.append(trace.read_bytes())
    assert traces[0] == traces[1] and len(traces[0]) > 0


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--pipeline", "kafka"], "--pipeline"),
        (["--pipeline", "log", "--consumer", "exactly-once"], "--consumer"),
        (["--pipeline", "log", "--crash-before-commit", "1"], "--crash-before-commit"),
        (["--pipeline", "log", "--lost-ack", "lots"], "--lost-ack"),
        (["--pipeline", "log", "--messages", "-3"], "--messages"),
        (["--pipeline", "log", "--partitions", "0"], "--partitions"),
        (["--pipeline", "log", "--withdrawals", "3"], "--withdrawals"),
        (["--consumer", "naive"], "--consumer"),
        (["--pipeline", "log", "--db", "/no/such/folder/bank.db"], "/no/such/folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], names: str) -> None:
    out = cli("simulate", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize("bridge", ["inline", "aiosqlite"])
def test_a_file_locked_mid_run_stops_with_one_line_and_keeps_what_was_committed(
    tmp_path: Path, bridge: str
) -> None:
    """A teacher's sqlite3 shell takes the write lock while the pipeline runs: one line, exit 2."""
    db, trace = tmp_path / "bank.db", tmp_path / "trace.jsonl"
    open_sync(StoreConfig(str(db), opening_balance=100_000_000)).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "simulate", "--pipeline", "log", "--db", str(db),
         "--messages", "1000000", "--amount", "100", "--bridge", bridge,
         "--trace", str(trace)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        other = sqlite3.connect(db, isolation_level=None, timeout=5)
        try:
            # Wait (bounded) until the consumer is charging, then take the write lock and keep it.
            while other.execute("SELECT count(*) FROM ledger").fetchone()[0] < 20:
                assert time.monotonic() < deadline and proc.poll() is None, "the run never charged"
                time.sleep(0.01)
            other.execute("BEGIN IMMEDIATE")
            out, err = proc.communicate(timeout=60)
            other.execute("ROLLBACK")
        finally:
            other.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, (out, err)
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert str(db) in err and "locked by another program" in err and "the run stopped" in err
    # What was committed is whole: one charge per message, the balance matches the ledger, and
    # every charge has its delivery row.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT count(*), count(DISTINCT txn_id), sum(amount) FROM ledger").fetchone()
        assert rows[0] >= 20 and rows[0] == rows[1]
        assert conn.execute("SELECT balance FROM accounts").fetchone() == (100_000_000 - rows[2],)
        processed = conn.execute("SELECT count(*) FROM deliveries WHERE outcome = 'processed'").fetchone()
        assert processed == (rows[0],)
    finally:
        conn.close()
    assert trace.read_bytes().endswith(b"\n")
