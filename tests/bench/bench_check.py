"""Benchmark: the whole `atm-tui check` against `atm-tui serve`, and the proxy's cost per request.

Run with `python3 dev.py bench -k bench_check`. Prints figures and asserts only that the
answers were right, never on time. The server is `atm-tui serve` as a child process on
127.0.0.1; the check runs as the command a student types (a child process too), ROUNDS times.
The proxy's overhead: the same POSTs with new keys, one httpx client, straight to the server
and through the proxy (fault `pass`), interleaved in blocks so a moment of load hurts both alike.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from http_helpers import WITHDRAW, serve

from atm_tui.check.proxy import FaultProxy

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3
REQUESTS = 300  # per path, in blocks of BLOCK
BLOCK = 25


async def _latencies(url: str) -> tuple[list[float], list[float]]:
    direct: list[float] = []
    proxied: list[float] = []
    async with FaultProxy(url) as proxy, httpx.AsyncClient(base_url=url) as straight, \
            httpx.AsyncClient(base_url=proxy.url) as through:
        n = 0
        for block in range(REQUESTS // BLOCK * 2):
            client, out = (straight, direct) if block % 2 == 0 else (through, proxied)
            for _ in range(BLOCK):
                n += 1
                start = time.perf_counter()
                resp = await client.post(WITHDRAW, json={"amount": 100},
                                         headers={"Idempotency-Key": f"bench-{n}"})
                out.append((time.perf_counter() - start) * 1000)
                assert resp.status_code == 201, resp.text
    return direct, proxied


def test_the_whole_check_and_the_proxy_overhead(tmp_path: Path) -> None:
    with serve(tmp_path / "bank.db", "--opening-balance", "100000000") as (_proc, url):
        walls = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "atm_tui", "check", url, "--brief"],
                                  capture_output=True, text=True, timeout=120, cwd=ROOT)
            walls.append(time.perf_counter() - start)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        direct, proxied = asyncio.run(_latencies(url))
    d50, p50 = statistics.median(direct), statistics.median(proxied)
    d_mean, p_mean = statistics.fmean(direct), statistics.fmean(proxied)
    print()
    print(f"whole check against atm-tui serve, {ROUNDS} runs of the command: "
          + ", ".join(f"{w:.2f} s" for w in walls) + " (target under 10 s)")
    print(f"POST withdrawal, {REQUESTS} each: direct p50 {d50:.2f} ms (mean {d_mean:.2f});"
          f" through the proxy p50 {p50:.2f} ms (mean {p_mean:.2f});"
          f" overhead p50 {p50 - d50:+.2f} ms, mean {p_mean - d_mean:+.2f} ms per request")
