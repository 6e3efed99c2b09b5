"""One bank, many clients, as real processes on one file: simulate runs, HTTP clients,
uvicorn workers, a killed worker, SIGTERM, the app beside simulate, two pipelines.

Every verdict is read from the bank's file: payouts (what the clients report dispensed) against
debits (ledger rows), per key and in total.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from engine_helpers import ROOT
from http_helpers import WITHDRAW, query, serve  # query reads a SQLite file or a PostgreSQL URL
from ui_helpers import make_app

pytestmark = pytest.mark.slow


def atm_tui(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "atm_tui", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ledger_rows(db: Path) -> tuple[int, int]:
    """(ledger rows, distinct keys among them)."""
    row = query(str(db), "SELECT count(*), count(DISTINCT txn_id) FROM ledger")[0]
    return int(str(row[0])), int(str(row[1]))


def owners_of(db: Path) -> dict[str, int]:
    """Ledger rows per client."""
    rows = query(str(db), "SELECT client_id, count(*) FROM ledger GROUP BY client_id")
    return {str(c): int(str(n)) for c, n in rows}


def wait_for(db: Path | str, sql: str, deadline_s: float = 20) -> list[tuple[object, ...]]:
    """Poll the file (bounded) until `sql` returns a row."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            rows = query(str(db), sql)
        except sqlite3.OperationalError:
            rows = []
        if rows:
            return rows
        assert time.monotonic() < deadline, f"never true: {sql}"
        time.sleep(0.01)


def test_four_concurrent_simulate_runs_pay_out_exactly_what_the_file_debits(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    first = subprocess.run(
        [
            sys.executable,
            "-m",
            "atm_tui",
            "simulate",
            "--db",
            str(db),
            "--withdrawals",
            "0",
            "--opening-balance",
            "10000000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    procs = [
        atm_tui(
            "simulate",
            "--db",
            str(db),
            "--withdrawals",
            "150",
            "--amount",
            "100",
            "--drop-reply",
            "0.2",
            "--seed",
            str(seed),
            "--json",
            "--check",
        )
        for seed in range(4)
    ]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (out, err)
        outs.append(json.loads(out))
    dispensed = sum(o["counts"]["dispensed"] for o in outs)
    rows, keys = ledger_rows(db)
    assert rows == keys  # no key debited twice
    unknown = sum(o["counts"]["unknown"] for o in outs)
    # Every payout has its own debit; a debit without a payout is only a withdrawal whose every
    # reply was lost (outcome unknown, the status query would say approved).
    assert dispensed <= rows <= dispensed + unknown
    assert all(o["ok"] for o in outs) and sum(o["counts"]["rejected"] for o in outs) == 0
    # Four clients, each debiting only under its own keys.
    per_client = owners_of(db)
    assert set(per_client) == {o["client"] for o in outs}
    for o in outs:
        c = o["counts"]
        assert c["dispensed"] <= per_client[o["client"]] <= c["dispensed"] + c["unknown"]


def test_two_client_runs_on_one_serve_pay_out_what_the_file_debits(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db) as (_proc, url):
        runs = [
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "atm_tui",
                    "client",
                    "--bank",
                    url,
                    "--withdrawals",
                    "3",
                    "--json",
                    "--check",
                    *extra,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for extra in ((), (), ("--name", "lab-1", "--prefix", "T"), ("--name", "lab-2", "--prefix", "T"))
        ]
    reports = [json.loads(r.stdout) for r in runs]
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    # The first two mint keys of their own; lab-2 reuses lab-1's T123..T125 and is refused every time.
    assert [r["outcomes"]["dispensed"] for r in reports] == [3, 3, 3, 0]
    assert reports[3]["outcomes"]["refused"] == 3 and reports[3]["answers"] == {"422": 3}
    assert reports[0]["client"] != reports[1]["client"]
    rows, keys = ledger_rows(db)
    assert rows == keys == sum(r["outcomes"]["dispensed"] for r in reports) == 9
    owners = owners_of(db)
    assert owners == {reports[0]["client"]: 3, reports[1]["client"]: 3, "lab-1": 3}
    assert query(str(db), "SELECT balance FROM accounts") == [(50_000 - 9 * 5_000,)]


def _post(url: str, key: str, client: str = "c1", timeout: float = 30) -> httpx.Response:
    return httpx.post(
        url + WITHDRAW,
        json={"amount": 500},
        timeout=timeout,
        headers={"Idempotency-Key": key, "Client-Id": client},
    )


def test_four_workers_fifty_concurrent_same_key_requests_debit_once(bank_db: str) -> None:
    db = bank_db  # a SQLite file, then a PostgreSQL database
    with serve(db, "--workers", "4", "--processing", "300") as (_proc, url):
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda _n: _post(url, "K-same"), range(50)))
        pids = {p for (p,) in query(str(db), "SELECT DISTINCT client_id FROM deliveries")}
    codes = [a.status_code for a in answers]
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    assert query(str(db), "SELECT txn_id, amount, client_id FROM ledger") == [("K-same", 500, "c1")]
    assert query(str(db), "SELECT status, lock_token FROM idempotency_keys") == [("approved", None)]
    assert pids == {"c1"}
    # Every 201 is the one result: the first, or a replay of it byte for byte.
    assert len({a.content for a in answers if a.status_code == 201}) == 1


def test_a_worker_killed_holding_a_key_frees_it_when_the_lease_lapses(bank_db: str) -> None:
    db = bank_db  # a SQLite file, then a PostgreSQL database
    with serve(db, "--workers", "2", "--processing", "1500", "--lease", "200") as (_proc, url):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(_post, url, "K-kill")
            token, until = wait_for(
                db, "SELECT lock_token, locked_until FROM idempotency_keys WHERE status = 'in_progress'"
            )[0]
            holder = int(str(token).split(":")[0])
            os.kill(holder, signal.SIGKILL)  # mid-request: between taking the key and committing
            with pytest.raises(httpx.TransportError):
                first.result(timeout=30)
        assert query(str(db), "SELECT count(*) FROM ledger") == [(0,)]
        busy = _post(url, "K-kill")  # the lease still holds (or just lapsed): never a second debit
        assert busy.status_code in (201, 409)
        while time.time() * 1000 <= int(str(until)) and busy.status_code == 409:  # bounded by the lease
            time.sleep(0.05)
        retry = busy if busy.status_code == 201 else _post(url, "K-kill")
        while retry.status_code == 409:  # the retry that took the key over is still processing
            time.sleep(0.2)
            retry = _post(url, "K-kill")
        again = _post(url, "K-kill")
    assert retry.status_code == 201 and again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert query(str(db), "SELECT txn_id, amount FROM ledger") == [("K-kill", 500)]
    assert query(str(db), "SELECT balance FROM accounts") == [(49_500,)]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_finishes_the_request_in_flight_and_exits_0(bank_db: str, workers: str) -> None:
    db = bank_db  # a SQLite file, then a PostgreSQL database
    with serve(db, "--workers", workers, "--processing", "800") as (proc, url):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(_post, url, "K-term")
            wait_for(db, "SELECT 1 FROM idempotency_keys WHERE status = 'in_progress'")
            proc.send_signal(signal.SIGTERM)
            answer = first.result(timeout=30)
        assert proc.wait(30) == 0
    assert answer.status_code == 201
    assert query(str(db), "SELECT txn_id, client_id FROM ledger") == [("K-term", "c1")]


async def test_the_app_and_simulate_on_one_file_pay_out_what_the_file_debits(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        sim = atm_tui(
            "simulate",
            "--db",
            str(db),
            "--withdrawals",
            "40",
            "--amount",
            "100",
            "--json",
            "--check",
            "--bridge",
            "aiosqlite",
        )
        await pilot.press("w")
        await app.settle(60)
        await pilot.press("w")
        await app.settle(60)
        out, err = sim.communicate(timeout=120)
        await app.settle(5)
    assert sim.returncode == 0, err
    report = json.loads(out)
    rows, keys = ledger_rows(db)
    assert rows == keys == 2 + report["counts"]["dispensed"]
    owners = owners_of(db)
    assert owners == {"atm": 2, report["client"]: report["counts"]["dispensed"]}
    # The app told the story from T123: its ids come from the file, so simulate's never collide.
    assert query(str(db), "SELECT txn_id FROM ledger WHERE client_id = 'atm' ORDER BY id")[0] == ("T123",)


@pytest.mark.parametrize("consumer", ["idempotent", "transactional"])
def test_a_second_live_pipeline_on_a_file_is_refused_and_the_first_charges_once(
    tmp_path: Path, consumer: str
) -> None:
    db = tmp_path / "bank.db"
    first = atm_tui(
        "simulate",
        "--pipeline",
        "log",
        "--db",
        str(db),
        "--messages",
        "4000",
        "--amount",
        "100",
        "--consumer",
        consumer,
        "--crash-before-commit",
        "0.05",
        "--opening-balance",
        "10000000",
        "--check",
    )
    try:
        wait_for(db, "SELECT 1 FROM ledger")
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "atm_tui",
                "simulate",
                "--pipeline",
                "log",
                "--db",
                str(db),
                "--messages",
                "5",
                "--consumer",
                consumer,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == 2 and second.stdout == "" and second.stderr.count("\n") == 1
    assert "another log pipeline is running on this file" in second.stderr
    assert first.returncode == 0, (out, err)
    assert "exactly-once invariants: all hold" in out
    assert query(str(db), "SELECT count(*), count(DISTINCT txn_id) FROM ledger") == [(4000, 4000)]
    # Once the first is done the file is free: the next pipeline runs (and charges new ids).
    third = subprocess.run(
        [
            sys.executable,
            "-m",
            "atm_tui",
            "simulate",
            "--pipeline",
            "log",
            "--db",
            str(db),
            "--messages",
            "5",
            "--amount",
            "100",
            "--consumer",
            consumer,
            "--check",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert third.returncode == 0, third.stderr
    assert query(str(db), "SELECT count(*), count(DISTINCT txn_id) FROM ledger") == [(4005, 4005)]
