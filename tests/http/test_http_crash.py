"""A real `atm-tui serve` process killed with SIGKILL under load loses no committed request, doubles none."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest
from http_helpers import ACCOUNT, ledger, load, resend, serve


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_committed_request_and_doubles_none(bank_db: str) -> None:
    db = bank_db  # a SQLite file, then a PostgreSQL database
    seen: dict[str, int] = {}
    sent: list[str] = []
    # A short lease: a key the kill left in progress answers 409 only that long. Each write takes
    # 100 ms inside the bank, so the kill finds requests mid-transaction: with instant writes, a
    # busy machine could hold this test back while the bank answered every request in flight.
    with serve(db, "--opening-balance", "100000000", "--lease", "500", "--processing", "100") as (proc, url):
        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(load([url], seen, sent, stop))
            for _ in range(2_000):  # bounded: until enough requests were answered
                if len(seen) >= 150 or task.done():
                    break
                await asyncio.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests are in flight right now
            stop.set()
            await asyncio.wait_for(task, 20)

        asyncio.run(run())
        assert proc.wait(10) == -signal.SIGKILL
    assert len(seen) >= 150 and set(seen.values()) == {201}
    after_crash = ledger(db)
    assert all(after_crash.get(k) == 1 for k in seen), "a request answered 201 is missing from the ledger"
    assert all(n == 1 for n in after_crash.values()), "a key was debited twice"
    unanswered = [k for k in sent if k not in seen]
    assert unanswered, "the kill hit no request in flight; the test proved nothing"
    with serve(db) as (_proc, url), httpx.Client(base_url=url, timeout=5) as client:
        # The ATMs retry everything they sent: the committed ones replay, the lost ones run now.
        for key in sent:
            answer = resend(client, key)  # 409 while a key the kill left in progress keeps its lease
            assert answer.status_code == 201
            assert (answer.headers.get("idempotent-replayed") == "true") == (key in after_crash)
        balance = client.get(f"/accounts/{ACCOUNT}").json()["balance"]
    final = ledger(db)
    assert final == {k: 1 for k in sent}
    assert balance == 100_000_000 - 100 * len(sent)
