"""Crash safety with real processes: SIGKILL a running `simulate` and read what it left on disk."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import ROOT, query, run_cli

from atm_tui.sim.report import check_database

ACCOUNT = "A-1001"
KILLS = 20
# Never let a key expire between runs: this test is about crashes, not about the retention window.
LONG = ("--ttl", str(10**12), "--amount", "100", "--opening-balance", str(10**9))
FAULTS = ("--drop-request", "0.2", "--drop-reply", "0.3", "--duplicate", "0.2", "--processing", "2000")


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "simulate", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_piped(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "simulate", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def examine(db: Path) -> dict[str, int]:
    """Reopen the file after a kill: it must be intact and every exactly-once invariant must hold."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        checks = check_database(conn, ACCOUNT)[3]
        assert all(c.ok for c in checks), [(c.name, c.detail) for c in checks if not c.ok]
        # The debit, its key and its delivery commit together: no ledger row lacks its key, and
        # each key's stored answer names the balance its one ledger row wrote.
        orphans = conn.execute(
            "SELECT count(*) FROM ledger l LEFT JOIN idempotency_keys k"
            " ON k.key = l.txn_id AND k.account_id = l.account_id WHERE k.key IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        for key, response in conn.execute(
            "SELECT key, response FROM idempotency_keys WHERE status = 'approved'"
        ):
            rows = conn.execute("SELECT balance_after FROM ledger WHERE txn_id = ?", (key,)).fetchall()
            assert rows == [(json.loads(response)["balance_after"],)], key
        processed = conn.execute("SELECT count(*) FROM deliveries WHERE outcome = 'processed'").fetchone()[0]
        ledger, deliveries = conn.execute(
            "SELECT (SELECT count(*) FROM ledger), (SELECT count(*) FROM deliveries)"
        ).fetchone()
        assert processed == ledger
        return {"ledger": ledger, "deliveries": deliveries}
    finally:
        conn.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_never_breaks_idempotent_mode(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    made = run_cli("simulate", "--db", str(db), "--withdrawals", "0", *LONG)
    assert made.returncode == 0, made.stderr
    rng = random.Random(20261127)
    progressed = 0
    seen = examine(db)
    for i in range(KILLS):
        # Half the runs resume from T123, so ids that already reached the bank are sent again.
        ids = ("--first-id", "123") if i % 2 else ()  # one ATM restarted: one client name
        bridge = "aiosqlite" if i % 4 >= 2 else "inline"
        proc = start("--db", str(db), "--withdrawals", "1000000", "--seed", str(i), "--bridge", bridge,
                     "--name", "atm-1", *ids, *LONG, *FAULTS)  # fmt: skip
        delay = rng.uniform(0.25, 0.9)
        time.sleep(delay)  # a random moment to kill at, not an assertion about time
        os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, (i, delay, proc.returncode, err.decode())
        now = examine(db)
        progressed += now["deliveries"] > seen["deliveries"]
        seen = now
    # The kills must have landed mid-run, not only during start-up, or this test proves nothing.
    assert progressed >= KILLS // 2, progressed
    assert seen["ledger"] > 100
    # A final run from T123 that is allowed to finish: every id it resends is replayed, never debited again.
    resumed = run_cli("simulate", "--db", str(db), "--name", "atm-1", "--first-id", "123",
                      "--withdrawals", "300", "--check", "--json", *LONG)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["ok"] is True
    assert out["counts"]["replayed"] > 0
    examine(db)
    assert query(
        str(db), "SELECT count(*) FROM (SELECT txn_id FROM ledger GROUP BY txn_id HAVING count(*) > 1)"
    ) == [(0,)]


@pytest.mark.parametrize("bridge", ["inline", "aiosqlite"])
def test_split_mode_crash_in_the_gap_then_the_same_id_debits_twice(tmp_path: Path, bridge: str) -> None:
    db = tmp_path / "bank.db"
    story = ("--withdrawals", "1", "--db", str(db), "--mode", "split", "--bridge", bridge)
    killed = run_cli("simulate", *story, "--crash-in-gap", "1", "--hard-crash")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert str(db) in killed.stderr, "the killed run must have named its file first"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The debit committed, the key never did: the gap the lesson warns about.
        assert list(conn.execute("SELECT txn_id, amount FROM ledger")) == [("T123", 5000)]
        assert list(conn.execute("SELECT count(*) FROM idempotency_keys")) == [(0,)]
        assert all(c.ok for c in check_database(conn, ACCOUNT)[3])
    finally:
        conn.close()
    with pytest.raises(AssertionError):
        examine(db)  # the crash check above catches exactly this: a debit without its key
    # The ATM never heard back, so T123 comes again; the bank has no key and debits a second time.
    again = run_cli("simulate", *story, "--first-id", "123", "--check", "--json")
    assert again.returncode == 1, again.stderr
    out = json.loads(again.stdout)
    assert out["invariants"]["one_ledger_row_per_key"] == {
        "ok": False,
        "detail": "debited more than once: T123 x2",
    }
    assert query(str(db), "SELECT txn_id FROM ledger") == [("T123",), ("T123",)]
    assert query(str(db), "SELECT balance FROM accounts") == [(40_000,)]


def test_idempotent_mode_has_no_gap_to_be_killed_in(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    story = ("--withdrawals", "1", "--db", str(db), "--mode", "idempotent", "--name", "atm-1")
    proc = run_cli("simulate", *story, "--crash-in-gap", "1", "--hard-crash", "--check")
    assert proc.returncode == 0, proc.stderr
    again = run_cli("simulate", *story, "--first-id", "123", "--check")
    assert again.returncode == 0, again.stderr
    assert query(str(db), "SELECT txn_id FROM ledger") == [("T123",)]
    assert query(str(db), "SELECT key, hits FROM idempotency_keys") == [("T123", 2)]
    assert query(str(db), "SELECT balance FROM accounts") == [(45_000,)]


def test_three_atm_processes_sending_the_same_ids_debit_each_key_once(tmp_path: Path) -> None:
    """Separate processes share nothing in memory: only the one transaction keeps them apart."""
    db = tmp_path / "bank.db"
    assert run_cli("simulate", "--db", str(db), "--withdrawals", "0", *LONG).returncode == 0
    args = ("--db", str(db), "--first-id", "123", "--withdrawals", "3000", "--drop-reply", "0.3",
            "--duplicate", "0.2", "--check", "--json", *LONG)  # fmt: skip
    procs = [start_piped(*args, "--seed", str(seed)) for seed in (1, 2, 3)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(json.loads(out))
    # Between them the three processed each id exactly once. They are three clients (three ATMs),
    # so a key another ATM used first is refused, never paid out as that ATM's cash.
    assert sum(o["counts"]["processed"] for o in outs) == 3000
    assert all(o["ok"] for o in outs), [o["invariants"] for o in outs]
    assert sum(o["counts"]["dispensed"] for o in outs) <= 3000
    # A process that did not process every id itself was refused the ones another ATM had used
    # (one that started first may have run through all 3000 before the others began).
    assert all(o["counts"]["processed"] == 3000 or o["counts"]["rejected"] > 0 for o in outs), outs
    assert sum(o["counts"]["rejected"] for o in outs) > 0
    assert query(str(db), "SELECT count(*), count(DISTINCT txn_id) FROM ledger") == [(3000, 3000)]
    examine(db)
