"""Benchmark: `serve --workers 4` against `serve --workers 1`, each over one bank file.

Run with `python3 dev.py bench -k bench_workers`. Prints figures; asserts only that every answer
was right (and, on the files, one ledger row per key), never on time. Both servers are `atm-tui
serve` child processes on 127.0.0.1; one httpx client with the same connections drives both in
interleaved rounds (best of ROUNDS), first with new keys, then with the same keys again (every
request a replay). The file is SQLite: one writer at a time, so a second worker cannot add write
throughput; it can only overlap the HTTP parsing and the reads. See the README for the figures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest
from bench_http import child, drive, pct

pytestmark = pytest.mark.bench

OPENING = 1_000_000_000_000
REQUESTS = 800
CONNECTIONS = 16
ROUNDS = 3
WORKERS = ("1", "4")


def test_four_workers_against_one_on_one_file(tmp_path: Path) -> None:
    argv = {
        w: [sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--quiet", "--workers", w,
            "--db", str(tmp_path / f"w{w}.db"), "--opening-balance", str(OPENING)]
        for w in WORKERS
    }  # fmt: skip
    results: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
    with child(argv["1"]) as (_p1, url1), child(argv["4"]) as (_p4, url4):
        urls = {"1": url1, "4": url4}
        asyncio.run(drive(url1, [f"warm-{i}" for i in range(100)], CONNECTIONS))
        asyncio.run(drive(url4, [f"warm-{i}" for i in range(100)], CONNECTIONS))
        for r in range(ROUNDS):
            for w in WORKERS:
                keys = [f"R{r}-{i}" for i in range(REQUESTS)]
                for kind in ("new keys", "replays"):
                    results.setdefault((w, kind), []).append(asyncio.run(drive(urls[w], keys, CONNECTIONS)))
    for w in WORKERS:
        conn = sqlite3.connect(tmp_path / f"w{w}.db")
        try:
            rows, keys = conn.execute("SELECT count(*), count(DISTINCT txn_id) FROM ledger").fetchone()
        finally:
            conn.close()
        assert rows == keys == 100 + REQUESTS * ROUNDS
    print(f"\nserve --workers 4 vs --workers 1, one file each, {REQUESTS:,} requests x {ROUNDS} rounds,"
          f" {CONNECTIONS} connections, one httpx client (best round)")
    best = {k: max(v, key=lambda x: x[0]) for k, v in results.items()}
    for kind in ("new keys", "replays"):
        (r1, l1), (r4, l4) = best[("1", kind)], best[("4", kind)]
        print(f"  {kind:9}: 4 workers {r4:7,.0f} req/s (p99 {pct(l4, 99):.1f} ms)"
              f" | 1 worker {r1:7,.0f} req/s (p99 {pct(l1, 99):.1f} ms) | ratio {r4 / r1:.2f}x")
