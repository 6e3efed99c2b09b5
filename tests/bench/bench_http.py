"""Benchmark: `POST /accounts/{id}/withdrawals` over real HTTP against a bare Starlette endpoint.

Run with `python3 dev.py bench -k bench_http` (ATM_HTTP_SOAK_S sets the soak, default 10 s; the
README figure uses 60). Prints figures and asserts only that every answer was right, never on
time. Both servers are `uvicorn` child processes with one worker and the h11 protocol, on
127.0.0.1, over the same kind of bank file; one httpx client with the same connection count
drives both, in interleaved rounds (best of ROUNDS), so a moment of load hurts both alike.

The baseline is what a minimal app would do: parse the JSON, run `core.withdraw` (the same one
transaction) inline on the event loop, return its body. The real app adds the header and body
checks, the in-flight map (the 409), the bank's worker thread, the delivery count, the fault
hooks and the observer middleware.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.bench

ACCOUNT = "A-1001"
PATH = f"/accounts/{ACCOUNT}/withdrawals"
OPENING = 1_000_000_000_000
REQUESTS = 1_500
CONNECTIONS = 8
ROUNDS = 3
SOAK_S = float(os.environ.get("ATM_HTTP_SOAK_S", "10"))
SOAK_RATE = 200  # requests per second, fixed

BARE = r'''
import sys, time
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from atm_tui.bank import core
from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.http.server import bind

conn = open_sync(StoreConfig(sys.argv[1], opening_balance=int(sys.argv[2])))

async def withdraw(request: Request) -> Response:
    data = await request.json()
    req = core.Withdrawal(request.headers["idempotency-key"], request.path_params["account_id"],
                          int(data["amount"]))
    resp = core.withdraw(conn, req, time.time_ns() // 1_000_000)
    return Response(resp.body, status_code=201, media_type="application/json")

app = Starlette(routes=[Route("/accounts/{account_id}/withdrawals", withdraw, methods=["POST"])])
sock = bind("127.0.0.1", 0)
print(f"bare on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
server = uvicorn.Server(uvicorn.Config(app, http="h11", lifespan="off", log_config=None,
                                       access_log=False, log_level="warning"))
server.run(sockets=[sock])
'''


@contextmanager
def child(argv: list[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " on http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        url = line.split(" on ", 1)[1].split()[0]
        for _ in range(500):  # bounded readiness poll
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.02)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def drive(url: str, keys: list[str], connections: int) -> tuple[float, list[float]]:
    """POST one withdrawal per key over `connections` connections; (requests/s, latencies in ms)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    queue = list(reversed(keys))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def worker() -> None:
            while queue:
                key = queue.pop()
                t0 = time.perf_counter()
                answer = await client.post(PATH, json={"amount": 100}, headers={"Idempotency-Key": key})
                latencies.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 201, answer.text

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return len(keys) / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def test_http_withdrawals_against_a_bare_starlette_endpoint(tmp_path: Path) -> None:
    ours_argv = [sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--quiet", "--db",
                 str(tmp_path / "ours.db"), "--opening-balance", str(OPENING)]
    bare_argv = [sys.executable, "-c", BARE, str(tmp_path / "bare.db"), str(OPENING)]
    results: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
    cpu: dict[tuple[str, str], float] = {}  # server CPU seconds, summed over the rounds
    with child(ours_argv) as (o_proc, ours), child(bare_argv) as (b_proc, bare):
        for r in range(ROUNDS):
            for name, url, pid in (("atm-tui", ours, o_proc.pid), ("bare", bare, b_proc.pid)):
                keys = [f"R{r}-{i}" for i in range(REQUESTS)]
                for kind in ("new keys", "replays"):  # the same keys again: every one a replay
                    before = cpu_s(pid)
                    results.setdefault((name, kind), []).append(asyncio.run(drive(url, keys, CONNECTIONS)))
                    cpu[(name, kind)] = cpu.get((name, kind), 0.0) + cpu_s(pid) - before
    print(f"\nHTTP withdrawals, {REQUESTS:,} requests x {ROUNDS} rounds, {CONNECTIONS} connections,"
          f" httpx client, uvicorn h11, one worker each (best round)")
    best: dict[tuple[str, str], tuple[float, list[float]]] = {
        k: max(v, key=lambda x: x[0]) for k, v in results.items()}
    for kind in ("new keys", "replays"):
        (o_rate, o_lat), (b_rate, b_lat) = best[("atm-tui", kind)], best[("bare", kind)]
        print(f"  {kind:9}: atm-tui {o_rate:7,.0f} req/s"
              f" (p50 {pct(o_lat, 50):.1f} ms, p99 {pct(o_lat, 99):.1f} ms)"
              f" | bare {b_rate:7,.0f} req/s (p50 {pct(b_lat, 50):.1f} ms, p99 {pct(b_lat, 99):.1f} ms)"
              f" | ratio {o_rate / b_rate:.2f}x")
        per = {n: cpu[(n, kind)] * 1000 / (REQUESTS * ROUNDS) for n in ("atm-tui", "bare")}
        print(f"  {kind:9}: server CPU per request: atm-tui {per['atm-tui']:.2f} ms,"
              f" bare {per['bare']:.2f} ms (bare/atm-tui {per['bare'] / per['atm-tui']:.2f}x)")


def test_http_soak_at_a_fixed_rate(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--quiet", "--db",
            str(tmp_path / "soak.db"), "--opening-balance", str(OPENING)]
    with child(argv) as (proc, url):
        asyncio.run(drive(url, [f"warm-{i}" for i in range(500)], CONNECTIONS))  # warm: first-touch pages
        before = rss_kib(proc.pid)
        total = int(SOAK_S * SOAK_RATE)

        async def soak() -> tuple[int, list[float]]:
            latencies: list[float] = []
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                start = time.perf_counter()
                for i in range(total):  # bounded: exactly `total` requests, paced to the rate
                    wait = start + i / SOAK_RATE - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    key = f"S{i}" if i % 3 == 0 else f"S{i - i % 3}"  # one new key, two replays
                    t0 = time.perf_counter()
                    answer = await client.post(PATH, json={"amount": 100}, headers={"Idempotency-Key": key})
                    latencies.append((time.perf_counter() - t0) * 1000)
                    assert answer.status_code == 201
            return total, latencies

        sent, latencies = asyncio.run(soak())
        after = rss_kib(proc.pid)
    print(f"\nHTTP soak: {sent:,} requests at {SOAK_RATE}/s for {SOAK_S:.0f} s (1 new key : 2 replays),"
          f" p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms;"
          f" server RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB"
          f" ({(after - before) / 1024:+.1f} MiB)")
