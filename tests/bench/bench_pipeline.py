"""Benchmark: the log pipeline's throughput against a raw sqlite3 baseline; `python3 dev.py bench`.

Prints figures and asserts only that every run was correct (the invariants held), never on time.
Each figure is the best of a few interleaved rounds, so a moment of load hurts both sides alike.

The baseline is the engine benchmark's: per delivery, ONE transaction that looks up the key, on
a first delivery debits, writes the ledger row and stores the key, on a replay counts a hit, and
records the delivery; WAL, the same synchronous level as the bank. It is run two ways: one
delivery per key (like for like: a pipeline message without faults is delivered once) and three
per key (the engine benchmark's mix: one first delivery, two replays).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import time
from pathlib import Path

import pytest
from engine_helpers import raw_connect, raw_delivery  # the one baseline both benchmarks compare against

from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.pipeline.pipeline import PipelineConfig
from atm_tui.sim.pipeline_run import simulate_pipeline

pytestmark = pytest.mark.bench

MESSAGES = 3_000
OPENING = 100_000_000  # nothing is declined
AMOUNT = 500
ROUNDS = 5


def _pipeline_rate(db: Path, consumer: ConsumerMode, synchronous: str) -> float:
    config = PipelineConfig(messages=MESSAGES, consumer=consumer, amount=AMOUNT)
    store = StoreConfig(str(db), opening_balance=OPENING, synchronous=synchronous)  # type: ignore[arg-type]
    result = asyncio.run(simulate_pipeline(config, store))
    report = result.report
    assert report.ok, report.to_dict()["invariants"]
    assert report.counts["charged"] == MESSAGES and report.charge_rows == MESSAGES
    assert result.synchronous == synchronous
    return MESSAGES / result.elapsed


def _raw_rate(db: Path, synchronous: str, per_key: int) -> float:
    """Deliveries per second; `MESSAGES` deliveries in all, `per_key` of them per key."""
    conn = raw_connect(db, synchronous, OPENING)
    try:
        keys = MESSAGES // per_key
        started = time.perf_counter()
        now = 0
        for n in range(1, keys + 1):
            for attempt in range(1, per_key + 1):
                now += 1
                raw_delivery(conn, f"M{n}", attempt, AMOUNT, now)
        elapsed = time.perf_counter() - started
        ledger, balance = conn.execute(
            "SELECT (SELECT count(*) FROM ledger), (SELECT balance FROM accounts)"
        ).fetchone()
        assert ledger == keys and balance == OPENING - keys * AMOUNT
        return keys * per_key / elapsed
    finally:
        conn.close()


def test_pipeline_against_raw_sqlite(tmp_path: Path) -> None:
    synchronous = "normal"
    modes: tuple[ConsumerMode, ...] = ("transactional", "idempotent", "naive")
    rates: dict[str, list[float]] = {name: [] for name in ("raw x1", "raw x3", *modes)}
    for r in range(ROUNDS):
        rates["raw x1"].append(_raw_rate(tmp_path / f"raw1-{r}.db", synchronous, 1))
        rates["raw x3"].append(_raw_rate(tmp_path / f"raw3-{r}.db", synchronous, 3))
        for mode in modes:
            rates[mode].append(_pipeline_rate(tmp_path / f"{mode}-{r}.db", mode, synchronous))
    best = {name: max(v) for name, v in rates.items()}
    print(
        f"\nlog pipeline vs raw sqlite3, {MESSAGES:,} messages, best of {ROUNDS},"
        f" WAL synchronous={synchronous}"
    )
    print(f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"  raw sqlite3, 1 delivery per key      {best['raw x1']:>9,.0f} deliveries/s")
    print(f"  raw sqlite3, 3 per key (engine mix)  {best['raw x3']:>9,.0f} deliveries/s")
    for mode in modes:
        tx = "1 transaction" if mode == "transactional" else "2 transactions"
        print(
            f"  pipeline, consumer {mode:<13}      {best[mode]:>9,.0f} messages/s ({tx} a message)"
            f"  ratio {best[mode] / best['raw x1']:.2f} of raw x1,"
            f" {best[mode] / best['raw x3']:.2f} of raw x3"
        )
