"""Benchmarks of the engine against a raw sqlite3 baseline; run with `python3 dev.py bench`.

They print figures and assert only that the runs were correct (the invariants held), never on
time: timings depend on the machine and on what else it is doing. Each figure is the best of a
few interleaved rounds, so a moment of load on a shared machine hurts both sides alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import raw_connect, raw_delivery

from atm_tui.bank.service import Bridge
from atm_tui.bank.store import DEFAULT_ACCOUNT, StoreConfig, open_sync
from atm_tui.sim.atm.config import LinkConfig, SimConfig
from atm_tui.sim.run import RunOptions, RunResult, simulate

pytestmark = pytest.mark.bench

WITHDRAWALS = 5_000
ATTEMPTS = 3  # --drop-reply 1 with the default max attempts: every withdrawal reaches the bank 3 times
OPENING = 100_000_000  # large enough that nothing is declined
AMOUNT = 5_000
ROUNDS = 5


def _table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * len(title))
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


def _machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}"
    )


# -- the engine -------------------------------------------------------------------------------
def _engine_run(db: Path, withdrawals: int, bridge: Bridge = "inline", amount: int = AMOUNT) -> RunResult:
    """The same run as `atm-tui simulate --withdrawals N --drop-reply 1 --opening-balance ...`."""
    config = SimConfig(amount=amount, reply=LinkConfig(drop=1.0))
    store = StoreConfig(str(db), opening_balance=OPENING)
    options = RunOptions(withdrawals=withdrawals, bridge=bridge)
    result = asyncio.run(simulate(config, store, options))
    assert result.report.ok, result.report.to_dict()["invariants"]
    return result


def _engine_rate(
    db: Path, withdrawals: int = WITHDRAWALS, bridge: Bridge = "inline"
) -> tuple[float, float, str]:
    """(deliveries per wall-clock second, as `simulate --json` reports; per CPU second; synchronous).

    The CPU time covers the whole simulate() call, opening and checking the database included,
    so it slightly favours the baseline.
    """
    cpu = time.process_time()
    result = _engine_run(db, withdrawals, bridge)
    cpu = time.process_time() - cpu
    counts = result.report.counts
    assert counts["deliveries"] == withdrawals * ATTEMPTS
    assert counts["processed"] == withdrawals and counts["replayed"] == withdrawals * (ATTEMPTS - 1)
    assert result.report.ledger_rows == withdrawals
    return counts["deliveries"] / result.elapsed, counts["deliveries"] / cpu, result.synchronous


# -- the raw sqlite3 baseline -----------------------------------------------------------------
def _raw_rate(db: Path, synchronous: str, withdrawals: int = WITHDRAWALS) -> tuple[float, float]:
    """(deliveries per wall-clock second, per CPU second)."""
    conn = raw_connect(db, synchronous, OPENING)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        now = 0
        for n in range(123, 123 + withdrawals):
            key = f"T{n}"
            for attempt in range(1, ATTEMPTS + 1):
                now += 1
                raw_delivery(conn, key, attempt, AMOUNT, now)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        ledger, balance = conn.execute(
            "SELECT (SELECT count(*) FROM ledger), (SELECT balance FROM accounts)"
        ).fetchone()
        assert ledger == withdrawals and balance == OPENING - withdrawals * AMOUNT
        return withdrawals * ATTEMPTS / elapsed, withdrawals * ATTEMPTS / cpu
    finally:
        conn.close()


def _best_and_median(rates: list[float]) -> str:
    return f"{max(rates):>9,.0f} /s  (median {statistics.median(rates):,.0f} of {len(rates)})"


def test_engine_against_raw_sqlite(tmp_path: Path) -> None:
    engine: list[float] = []
    raw: list[float] = []
    engine_cpu: list[float] = []
    raw_cpu: list[float] = []
    synchronous = ""
    for i in range(ROUNDS):
        rate, cpu_rate, synchronous = _engine_rate(tmp_path / f"engine{i}.db")
        engine.append(rate)
        engine_cpu.append(cpu_rate)
        rate, cpu_rate = _raw_rate(tmp_path / f"raw{i}.db", synchronous)
        raw.append(rate)
        raw_cpu.append(cpu_rate)
    bridged, _, _ = _engine_rate(tmp_path / "bridge.db", bridge="aiosqlite")
    _table(
        f"{WITHDRAWALS:,} withdrawals, every reply dropped: {WITHDRAWALS * ATTEMPTS:,} deliveries"
        f" (WAL, synchronous={synchronous}; {_machine()})",
        [
            ("engine, inline bridge", _best_and_median(engine)),
            ("raw sqlite3 baseline", _best_and_median(raw)),
            ("engine / raw", f"{max(engine) / max(raw):>9.2f} x  (best against best; target >= 0.5)"),
            ("engine, per CPU second", _best_and_median(engine_cpu)),
            ("raw, per CPU second", _best_and_median(raw_cpu)),
            (
                "engine / raw, CPU time",
                f"{max(engine_cpu) / max(raw_cpu):>9.2f} x  (steadier on a busy machine)",
            ),
            ("engine, aiosqlite bridge", f"{bridged:>9,.0f} /s  (what the app uses; for information)"),
        ],
    )


# -- cost per delivery as the key table grows ---------------------------------------------------
def _populate(db: Path, keys: int) -> None:
    """A bank that has already handled `keys` withdrawals T1..Tn: keys, ledger rows, deliveries."""
    conn = open_sync(StoreConfig(str(db), opening_balance=OPENING))
    try:
        amount = 100
        ids = [f"T{n}" for n in range(1, keys + 1)]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO idempotency_keys (account_id, key, fingerprint, status, response, hits, first_seen,"
            " last_seen, expires_at) VALUES (?, ?, 'fp', 'approved', '{}', 3, ?, ?, ?)",
            ((DEFAULT_ACCOUNT, key, n, n, n + 86_400_000_000) for n, key in enumerate(ids, 1)),
        )
        conn.executemany(
            "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at) VALUES (?, ?, ?, ?, ?)",
            ((key, DEFAULT_ACCOUNT, amount, OPENING - n * amount, n) for n, key in enumerate(ids, 1)),
        )
        conn.executemany(
            "INSERT INTO deliveries (txn_id, attempt, outcome, at) VALUES (?, ?, ?, ?)",
            (
                (key, attempt, "processed" if attempt == 1 else "replayed", n)
                for n, key in enumerate(ids, 1)
                for attempt in range(1, ATTEMPTS + 1)
            ),
        )
        conn.execute("UPDATE accounts SET balance = ?", (OPENING - keys * amount,))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _us_per_delivery(db: Path, withdrawals: int) -> float:
    result = _engine_run(db, withdrawals, amount=100)
    assert result.report.counts["processed"] == withdrawals
    return result.elapsed / result.report.counts["deliveries"] * 1e6


def test_cost_per_delivery_as_keys_grow(tmp_path: Path) -> None:
    small, large = 1_000, 100_000
    batch = 2_000
    timings: dict[int, list[float]] = {small: [], large: []}
    for i in range(ROUNDS):
        for keys in (small, large):
            db = tmp_path / f"keys{keys}-{i}.db"
            _populate(db, keys)
            timings[keys].append(_us_per_delivery(db, batch))
    best = {keys: min(t) for keys, t in timings.items()}
    _table(
        f"cost per delivery, {batch:,} withdrawals ({batch * ATTEMPTS:,} deliveries) on a bank that already"
        f" stores N keys (best of {ROUNDS})",
        [
            (f"N = {small:,}", f"{best[small]:7.1f} us"),
            (f"N = {large:,}", f"{best[large]:7.1f} us"),
            ("ratio", f"{best[large] / best[small]:7.2f} x  (target <= 1.3)"),
        ],
    )


# -- memory -----------------------------------------------------------------------------------
_PEAK = """
import resource, sys
def _peak_kib():
    # VmHWM is this process's own high-water mark; ru_maxrss would also count the parent's pages
    # that the child shared between fork and exec.
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
"""


def _peak_rss_mib(code: str) -> tuple[float, str]:
    """Run `code` in a fresh Python; return its peak RSS in MiB and what it printed before that."""
    script = _PEAK + code + "\nprint(_peak_kib())\n"
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert child.returncode == 0, child.stderr
    *out, peak = child.stdout.splitlines()
    return int(peak) / 1024, "\n".join(out)


def test_peak_memory_of_a_long_run(tmp_path: Path) -> None:
    withdrawals = 100_000
    bare, _ = _peak_rss_mib("import atm_tui.sim.run")
    args = [
        "simulate", "--db", str(tmp_path / "long.db"), "--withdrawals", str(withdrawals),
        "--drop-reply", "0.5", "--duplicate", "0.1", "--opening-balance", "1000000000", "--json", "--check",
    ]  # fmt: skip
    peak, out = _peak_rss_mib(f"from atm_tui.cli.main import main\nassert main({args!r}) == 0")
    report = json.loads(out)
    assert report["ok"] and report["counts"]["withdrawals"] == withdrawals
    _table(
        f"peak memory (VmHWM of a child process), {withdrawals:,} withdrawals, no trace",
        [
            ("python -c 'import atm_tui.sim.run'", f"{bare:6.1f} MiB"),
            (
                f"simulate --withdrawals {withdrawals:,} --drop-reply 0.5 --duplicate 0.1",
                f"{peak:6.1f} MiB  (target < 100)",
            ),
            ("growth during the run", f"{peak - bare:6.1f} MiB"),
        ],
    )
