"""Benchmark: a class of 30 ATMs with 30% faults against each way of running the bank, in one run.

Run with `python3 dev.py bench -k bench_backends` (needs PostgreSQL's binaries, as the tests do).
The four banks, each a real `atm-tui serve` on 127.0.0.1 over a fresh store:

- SQLite, 1 worker (`serve --db FILE`);
- SQLite, 4 workers (`serve --db FILE --workers 4`);
- PostgreSQL, 4 workers (`serve --db postgresql://... --workers 4`);
- two `serve` processes of 2 workers each on one PostgreSQL database (the clients split between them).

The class: 30 clients at once, each with its own Client-Id and WITHDRAWALS withdrawals under keys
of its own. Each attempt meets a fault with probability 0.3 (seeded): half of them lose the reply
(the bank did the work; the client throws the answer away and retries the same key), half send
the request twice at once (the second meets the first's lease: 409, or a replay). A 409 is
retried after RETRY_409_MS (shorter than the Retry-After second, so the run stays short). A
connection closed under a request is, to the ATM, one more lost reply: counted, and retried.

Printed per bank: HTTP requests per second, p50 and p99 latency of one request, the answers, and
debits per key from the ledger. The only assertions are correctness: every key debited exactly
once, every client's keys all dispensed. The configurations run in interleaved rounds so a
moment of load on the shared machine hurts all of them alike.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from http_helpers import ACCOUNT, WITHDRAW, query
from pg_server import PgServer

pytestmark = pytest.mark.bench

CLIENTS = 30
WITHDRAWALS = 20
FAULT_RATE = 0.3
RETRY_409_MS = 20
ROUNDS = 3
SEED = 17
OPENING = 1_000_000_000


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    dispensed: set[str] = field(default_factory=set)


@contextmanager
def serve(db: str, log: Path, *extra: str) -> Iterator[str]:
    """`atm-tui serve` as a child process (its stderr appended to `log`); yields its URL once it answers."""
    with log.open("a") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--db", db, "--quiet",
             "--opening-balance", str(OPENING), *extra],
            stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " on http://" in line, (line, log.read_text())
        url = line.split(" on ", 1)[1].split()[0]
        deadline = time.monotonic() + 60
        while True:  # bounded: every worker process has to import and open the bank
            try:
                if httpx.get(f"{url}/accounts/{ACCOUNT}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


async def atm(client: httpx.AsyncClient, name: str, rng: random.Random, tally: Tally) -> None:
    """One student's ATM: WITHDRAWALS withdrawals, each retried with its key until it has an answer."""
    headers = {"Client-Id": name}

    async def send(key: str) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            answer = await client.post(WITHDRAW, json={"amount": 100},
                                       headers={**headers, "Idempotency-Key": key})
        except httpx.TransportError:
            # A connection closed under the request (a keep-alive race, a worker restarted by
            # uvicorn's supervisor): to the ATM it is one more lost reply, retried with the key.
            tally.answers["connection lost"] += 1
            return None
        tally.latencies.append((time.perf_counter() - t0) * 1000)
        replayed = answer.headers.get("idempotent-replayed") == "true"
        tally.answers[f"{answer.status_code}{' replay' if replayed else ''}"] += 1
        return answer

    for n in range(WITHDRAWALS):
        key = f"{name}-T{n}"
        for _attempt in range(200):  # bounded
            roll = rng.random()
            if roll < FAULT_RATE / 2:  # the reply is lost: the bank worked, the ATM never hears
                await send(key)
                continue
            if roll < FAULT_RATE:  # the request goes out twice at once
                both = await asyncio.gather(send(key), send(key))
                answer = next((a for a in both if a is not None and a.status_code == 201),
                              both[0] or both[1])
            else:
                answer = await send(key)
            if answer is None:
                continue
            if answer.status_code == 201:
                tally.dispensed.add(key)
                break
            assert answer.status_code in (409, 503), answer.text  # in flight, or the bank busy: retry
            await asyncio.sleep(RETRY_409_MS / 1000)
        else:
            raise AssertionError(f"{key} never got an answer")


async def classroom(urls: list[str], rng: random.Random) -> tuple[float, Tally]:
    tally = Tally()
    clients = [httpx.AsyncClient(base_url=urls[i % len(urls)], timeout=30,
                                 limits=httpx.Limits(max_connections=4)) for i in range(CLIENTS)]
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(atm(c, f"s{i:02d}", random.Random(rng.random()), tally)
                               for i, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    return time.perf_counter() - t0, tally


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def test_thirty_atms_with_faults_on_each_backend(tmp_path: Path, pg_server: PgServer) -> None:
    configs = ["SQLite, 1 worker", "SQLite, 4 workers", "PostgreSQL, 4 workers",
               "PostgreSQL, 2 servers x 2 workers"]
    rows: dict[str, list[tuple[float, float, float, Counter[str], int]]] = {c: [] for c in configs}
    rng = random.Random(SEED)
    log = tmp_path / "servers.log"  # the servers' stderr, shown if one fails to start
    for round_no in range(ROUNDS):
        for config in configs:
            with ExitStack() as stack:
                if config.startswith("SQLite"):
                    db = str(tmp_path / f"round{round_no}-bank{configs.index(config)}.db")
                    workers = "4" if "4 workers" in config else "1"
                    urls = [stack.enter_context(serve(db, log, "--workers", workers))]
                else:
                    db = pg_server.new_database()
                    if "2 servers" in config:
                        urls = [stack.enter_context(serve(db, log, "--workers", "2")) for _ in range(2)]
                    else:
                        urls = [stack.enter_context(serve(db, log, "--workers", "4"))]
                elapsed, tally = asyncio.run(classroom(urls, random.Random(rng.random())))
            debits = Counter(int(str(n)) for _k, n in query(
                db, "SELECT txn_id, count(*) FROM ledger GROUP BY txn_id"))
            keys = CLIENTS * WITHDRAWALS
            assert len(tally.dispensed) == keys, "every withdrawal of every ATM was dispensed"
            assert debits == Counter({1: keys}), f"{config}: debits per key {dict(debits)}"
            requests = sum(tally.answers.values())
            rows[config].append((requests / elapsed, percentile(tally.latencies, 50),
                                 percentile(tally.latencies, 99), tally.answers, requests))
    print(f"\n{CLIENTS} ATMs x {WITHDRAWALS} withdrawals, {FAULT_RATE:.0%} faults (half lost replies, half"
          f" double sends), {ROUNDS} interleaved rounds; every key debited exactly once in every run")
    print(f"{'bank':36} {'req/s':>12} {'p50 ms':>12} {'p99 ms':>14} {'requests':>10}  answers (last round)")
    for config, got in rows.items():
        rate = "-".join(f"{r[0]:.0f}" for r in got)
        p50 = "-".join(f"{r[1]:.1f}" for r in got)
        p99 = "-".join(f"{r[2]:.1f}" for r in got)
        answers = ", ".join(f"{n} x {what}" for what, n in sorted(got[-1][3].items()))
        print(f"{config:36} {rate:>12} {p50:>12} {p99:>14} {got[-1][4]:>10}  {answers}")
