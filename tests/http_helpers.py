"""A real uvicorn serving the HTTP bank on 127.0.0.1: in a thread of the tests, or as `atm-tui serve`.

The bank is a SQLite file in a test's folder, or a PostgreSQL database given by its URL (the
`bank_db` fixture in conftest.py gives one of each); `query` reads either with SQLite's `?`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from atm_tui.bank import postgres
from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.http.faults import Faults
from atm_tui.http.observe import RequestRecord
from atm_tui.http.server import HttpBank, bind

ACCOUNT = "A-1001"
WITHDRAW = f"/accounts/{ACCOUNT}/withdrawals"


@dataclass
class Running:
    bank: HttpBank
    db: str
    records: list[RequestRecord] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.bank.url

    @property
    def faults(self) -> Faults:
        return self.bank.faults

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Read the bank with a connection of our own, as a teacher's sqlite3 or psql shell would."""
        return query(self.db, sql, *params)

    def counts(self) -> tuple[int, int, int]:
        """(ledger rows, deliveries, keys): what a refused request must leave unchanged."""
        ledger, deliveries, keys = (
            int(str(self.query(f"SELECT count(*) FROM {t}")[0][0]))
            for t in ("ledger", "deliveries", "idempotency_keys")
        )
        return ledger, deliveries, keys


def query(db: str | Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of one read of a bank: a SQLite file, or a PostgreSQL URL (the SQL in SQLite's words)."""
    if postgres.is_url(str(db)):
        import psycopg

        text, _returning = postgres.translate(sql)
        with psycopg.connect(str(db), autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(text, params).fetchall()]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def open_bank(config: StoreConfig) -> sqlite3.Connection:
    """Open either kind of bank, as `atm-tui serve --db` does."""
    if postgres.is_url(config.path):
        return postgres.open_sync(config)  # type: ignore[return-value]
    return open_sync(config)


@contextmanager
def http_bank(where: Path | str, *, opening_balance: int = 50_000, ttl_ms: int = 86_400_000,
              name: str = "bank.db") -> Iterator[Running]:
    """Serve a fresh bank on a free port; always stopped on the way out.

    `where` is a folder (the bank is the file `name` in it) or a string naming the bank: a file
    path or a PostgreSQL URL (the `bank_db` fixture's)."""
    db = where if isinstance(where, str) else str(where / name)
    conn = open_bank(StoreConfig(db, opening_balance=opening_balance))
    bank = HttpBank(conn, bind("127.0.0.1", 0), ttl_ms=ttl_ms)
    running = Running(bank, db)
    bank.observers.append(running.records.append)
    thread = threading.Thread(target=asyncio.run, args=(bank.serve(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not bank.server.started:
            assert thread.is_alive(), "the server thread died"
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.005)
        yield running
    finally:
        bank.server.should_exit = True
        thread.join(10)
        bank.sock.close()
        conn.close()
    assert not thread.is_alive(), "the server thread did not stop"


@contextmanager
def serve(db: Path | str, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`atm-tui serve --port 0` as a child process; yields it and its URL once it answers.

    In a process group of its own: `--workers N` runs N uvicorn worker processes, which a SIGKILL
    of `serve` alone (a test's, or the teardown's) would leave running, orphaned; the teardown
    kills the whole group."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--db", str(db), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the banner: "atm-tui bank on http://127.0.0.1:PORT (...)"
        assert " on http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        url = line.split(" on ", 1)[1].split()[0]
        deadline = time.monotonic() + 10
        while True:  # bounded poll until it answers
            try:
                if httpx.get(f"{url}/accounts/{ACCOUNT}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.02)
        yield proc, url
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def ledger(db: Path | str) -> dict[str, int]:
    """Ledger rows per key, of a SQLite file or a PostgreSQL URL."""
    rows = query(db, "SELECT txn_id, count(*) FROM ledger GROUP BY txn_id")
    return {str(k): int(str(n)) for k, n in rows}


def wait_records(running: Running, count: int) -> list[RequestRecord]:
    """The observer runs just after the answer is sent: wait (bounded) until it has seen `count`."""
    deadline = time.monotonic() + 5
    while len(running.records) < count:
        assert time.monotonic() < deadline, running.records
        time.sleep(0.002)
    return list(running.records)


def resend(client: httpx.Client, key: str, amount: int = 100, deadline_s: float = 20) -> httpx.Response:
    """An ATM's retry of a withdrawal: the same key and body, again after each 409 (a key still
    held by a killed server's lease) until the lease lapses; bounded."""
    deadline = time.monotonic() + deadline_s
    while True:
        answer = client.post(WITHDRAW, json={"amount": amount}, headers={"Idempotency-Key": key})
        if answer.status_code != 409:
            return answer
        assert answer.headers["retry-after"] == "1"
        assert time.monotonic() < deadline, f"{key} stayed in progress"
        time.sleep(0.1)  # the ATM honours Retry-After, shortened: the tests' leases are short


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def web(bank_url: str) -> Iterator[str]:
    """`atm-tui web` as a child process; yields its URL once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "atm_tui", "web", "--bank", bank_url, "--port", str(port),
                             "--timeout", "500"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:  # bounded poll until the page is served
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "atm-tui web did not come up within 30 s"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


async def load(urls: list[str], seen: dict[str, int], sent: list[str], stop: asyncio.Event,
               workers: int = 6) -> None:
    """Workers sending new keys (W<worker>-<n>), worker w to `urls[w % len(urls)]`, each until told
    to stop or its server dies: `sent` gets every key sent, `seen` each answered key's status."""
    async def worker(w: int) -> None:
        async with httpx.AsyncClient(base_url=urls[w % len(urls)], timeout=5) as client:
            for n in range(100_000):  # bounded; ends at the first lost connection anyway
                if stop.is_set():
                    return
                key = f"W{w}-{n}"
                sent.append(key)
                try:
                    answer = await client.post(WITHDRAW, json={"amount": 100},
                                               headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    return
                seen[key] = answer.status_code

    await asyncio.gather(*(worker(w) for w in range(workers)))
