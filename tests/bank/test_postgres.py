"""The bank on PostgreSQL: the adapter, `serve --db postgresql://...`, and several servers on one database.

Every test here runs against a real PostgreSQL server started for the session (conftest.py's
`pg_server`); the HTTP suite itself runs on both backends through the `bank_db` fixture.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import unavailable
from http_helpers import ACCOUNT, WITHDRAW, http_bank, ledger, load, query, resend, serve
from pg_server import Unavailable, find_bindir

from atm_tui.bank import backend, core, operations, postgres, queries
from atm_tui.bank.service import read_snapshot
from atm_tui.bank.store import StoreConfig, StoreError, open_sync


def columns_sqlite(path: str) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        tables = [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [str(r[1]) for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        conn.close()


def columns_pg(url: str) -> dict[str, list[str]]:
    rows = query(url, "SELECT table_name, column_name FROM information_schema.columns"
                      " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return found


def test_the_schema_has_the_same_tables_and_columns_on_both(tmp_path: Path, pg_url: str) -> None:
    open_sync(StoreConfig(str(tmp_path / "bank.db"))).close()
    postgres.open_sync(StoreConfig(pg_url)).close()
    on_sqlite, on_pg = columns_sqlite(str(tmp_path / "bank.db")), columns_pg(pg_url)
    assert {"accounts", "ledger", "idempotency_keys", "deliveries", "meta"} <= set(on_pg)
    assert on_pg == on_sqlite
    # Times are wall-clock ms (about 1.7e12): they need PostgreSQL's 64-bit integers.
    rows = query(pg_url, "SELECT column_name, data_type FROM information_schema.columns"
                         " WHERE table_name = 'idempotency_keys'")
    kinds = {str(c): str(t) for c, t in rows}
    assert kinds["expires_at"] == kinds["locked_until"] == "bigint"


def test_the_shared_transaction_runs_unchanged_on_postgres(pg_url: str) -> None:
    conn = postgres.open_sync(StoreConfig(pg_url))
    try:
        first = core.withdraw(conn, core.Withdrawal("T123", ACCOUNT, 5000), 10)  # type: ignore[arg-type]
        again = core.withdraw(conn, core.Withdrawal("T123", ACCOUNT, 5000, 2), 11)  # type: ignore[arg-type]
        other = core.withdraw(conn, core.Withdrawal("T123", ACCOUNT, 6000, 3), 12)  # type: ignore[arg-type]
    finally:
        conn.close()
    assert (first.outcome, again.outcome, other.outcome) == ("processed", "replayed", "rejected")
    assert again.body == first.body and again.replayed
    assert query(pg_url, "SELECT txn_id, amount, balance_after FROM ledger") == [("T123", 5000, 45_000)]
    assert query(pg_url, "SELECT attempt, outcome FROM deliveries ORDER BY id") == [
        (1, "processed"), (2, "replayed"), (3, "rejected")]
    assert query(pg_url, "SELECT hits, status FROM idempotency_keys") == [(2, "approved")]


def test_a_second_open_keeps_the_rows_and_fresh_empties_them(pg_url: str) -> None:
    conn = postgres.open_sync(StoreConfig(pg_url))
    core.withdraw(conn, core.Withdrawal("T1", ACCOUNT, 100), 5)  # type: ignore[arg-type]
    conn.close()
    postgres.open_sync(StoreConfig(pg_url, opening_balance=7)).close()
    assert query(pg_url, "SELECT balance FROM accounts") == [(49_900,)]
    postgres.open_sync(StoreConfig(pg_url, opening_balance=7, fresh=True)).close()
    assert query(pg_url, "SELECT balance FROM accounts") == [(7,)]
    assert query(pg_url, "SELECT count(*) FROM ledger") == [(0,)]


def test_a_database_of_another_program_is_refused_untouched(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("CREATE TABLE accounts (id TEXT)")
    with pytest.raises(StoreError, match=r"not an atm-tui bank \(missing .*ledger"):
        postgres.open_sync(StoreConfig(pg_url))
    assert set(columns_pg(pg_url)) == {"accounts"}


def test_the_translation_of_sqlite_words() -> None:
    assert postgres.translate("SELECT a FROM t WHERE b = ? AND c LIKE 'x%'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%'", False)
    text, returning = postgres.translate("INSERT INTO ledger (txn_id) VALUES (?)")
    assert text == "INSERT INTO ledger (txn_id) VALUES (%s) RETURNING id" and returning
    assert postgres.translate("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)")[0] == (
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING")
    assert postgres.shown("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert postgres.is_url("postgres://h/db") and not postgres.is_url("bank.db")


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "atm_tui", *argv], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("url", ["postgresql://nobody:pw@127.0.0.1:1/nothing", "postgresql://[::1/x"])
def test_serve_on_an_unreachable_database_is_one_line_and_exit_2(url: str) -> None:
    done = run_cli("serve", "--port", "0", "--db", url)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("atm-tui: error: database postgresql://"), lines
    assert "pw" not in done.stderr and "Traceback" not in done.stderr


def test_serve_names_the_database_without_its_password(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("ALTER USER postgres PASSWORD 'sesame'")  # trust auth: any password is accepted
    with_password = pg_url.replace("postgres@", "postgres:sesame@")
    with serve(with_password) as (proc, url):
        answer = httpx.post(f"{url}{WITHDRAW}", json={"amount": 100}, headers={"Idempotency-Key": "P1"})
        assert answer.status_code == 201
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=20)
    assert query(pg_url, "SELECT txn_id FROM ledger") == [("P1",)]
    assert "sesame" not in out


@pytest.mark.slow
def test_two_servers_fifty_concurrent_requests_with_one_key_debit_once(pg_url: str) -> None:
    # Three processes on the database: a server of two workers, and a server of one.
    with serve(pg_url, "--workers", "2") as (_a, url_a), serve(pg_url) as (_b, url_b):
        async def burst() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(timeout=30, limits=limits) as ac:
                headers = {"Idempotency-Key": "T777"}
                return list(await asyncio.gather(*(
                    ac.post(f"{(url_a, url_b)[i % 2]}{WITHDRAW}", json={"amount": 5000}, headers=headers)
                    for i in range(50))))

        answers = asyncio.run(burst())
    statuses = Counter(a.status_code for a in answers)
    print("statuses of the burst over two servers:", dict(statuses))
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    assert query(pg_url, "SELECT txn_id, amount FROM ledger") == [("T777", 5000)]
    assert query(pg_url, "SELECT balance FROM accounts") == [(45_000,)]
    outcomes = Counter(str(r[0]) for r in query(pg_url, "SELECT outcome FROM deliveries"))
    assert outcomes["processed"] == 1 and sum(outcomes.values()) == 50
    assert outcomes["in_progress"] == statuses[409]


@pytest.mark.slow
def test_sigkill_one_of_two_servers_under_load_loses_nothing_and_doubles_nothing(pg_url: str) -> None:
    seen: dict[str, int] = {}
    sent: list[str] = []
    with serve(pg_url, "--opening-balance", "100000000", "--lease", "500") as (victim, url_a), \
            serve(pg_url) as (_b, url_b):
        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(load([url_a, url_b], seen, sent, stop))
            for _ in range(4_000):  # bounded: until both servers answered enough requests
                if len(seen) >= 200 or task.done():
                    break
                await asyncio.sleep(0.005)
            os.kill(victim.pid, signal.SIGKILL)  # mid-load: requests are in flight on it right now
            for _ in range(4_000):  # the survivor keeps serving its ATMs meanwhile
                if len(seen) >= 300 or task.done():
                    break
                await asyncio.sleep(0.005)
            stop.set()
            await asyncio.wait_for(task, 30)

        asyncio.run(run())
        assert victim.wait(10) == -signal.SIGKILL
        assert len(seen) >= 300 and set(seen.values()) == {201}
        after_crash = ledger(pg_url)
        assert all(after_crash.get(k) == 1 for k in seen), "a request answered 201 is missing"
        assert all(n == 1 for n in after_crash.values()), "a key was debited twice"
        assert [k for k in sent if k not in seen], "the kill hit no request in flight; it proved nothing"
        with serve(pg_url) as (_c, url_c), httpx.Client(base_url=url_c, timeout=5) as c, \
                httpx.Client(base_url=url_b, timeout=5) as b:
            # The ATMs retry everything they sent, to either server: the committed keys replay
            # their stored reply byte for byte, the lost ones run now, once.
            stored = {str(k): str(r) for k, r in query(pg_url, "SELECT key, response FROM idempotency_keys"
                                                                " WHERE status = 'approved'")}
            for i, key in enumerate(sent):
                answer = resend((c, b)[i % 2], key)
                assert answer.status_code == 201, answer.text
                assert (answer.headers.get("idempotent-replayed") == "true") == (key in after_crash)
                if key in after_crash:
                    assert answer.text == stored[key]
            balance = c.get(f"/accounts/{ACCOUNT}").json()["balance"]
    assert ledger(pg_url) == {k: 1 for k in sent}
    assert balance == 100_000_000 - 100 * len(sent)


def test_without_binaries_the_search_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match=r"apt-get install postgresql"):
        find_bindir(path=str(tmp_path), debian_root=str(tmp_path / "none"))
    fake = tmp_path / "debian" / "15" / "bin"
    fake.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl"):
        (fake / tool).write_text("")
    assert find_bindir(path=str(tmp_path), debian_root=str(tmp_path / "debian")) == fake


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_without_a_server_the_tests_skip_but_fail_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str,
                                                           outcome: type[BaseException]) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="apt-get install postgresql"):
        unavailable(Unavailable("no PostgreSQL server binaries; install them (apt-get install postgresql)"))


def test_a_lost_database_connection_is_503_then_the_bank_reconnects(pg_url: str) -> None:
    import psycopg

    with http_bank(pg_url) as bank, httpx.Client(base_url=bank.url, timeout=10) as client:
        first = client.post(WITHDRAW, json={"amount": 100}, headers={"Idempotency-Key": "C1"})
        assert first.status_code == 201
        with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends the bank's session
            ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                                  " datname = current_database() AND pid <> pg_backend_pid()").fetchall()
        assert ended == [(True,)]
        lost = client.post(WITHDRAW, json={"amount": 100}, headers={"Idempotency-Key": "C2"})
        assert lost.status_code == 503 and lost.headers["retry-after"] == "1"
        again = client.post(WITHDRAW, json={"amount": 100}, headers={"Idempotency-Key": "C2"})
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert ledger(pg_url) == {"C1": 1, "C2": 1}


def the_same_story(conn: Any) -> None:
    """One morning at the bank, told through the shared code: withdrawals, a replay, a reuse,
    a decline, a payment, an order and a ballot, each retried once."""
    for n, (key, amount, client) in enumerate([("T1", 5000, "alice"), ("T1", 5000, "alice"),
                                               ("T1", 6000, "alice"), ("T2", 100, "bob"),
                                               ("T3", 900_000, "bob"), ("T1", 5000, "carol")]):
        core.withdraw(conn, core.Withdrawal(key, ACCOUNT, amount, n + 1, client), 10 + n)
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("payment", "P1", {"amount": 700}), ("order", "O1", {"item": "tea", "quantity": 2}),
        ("vote", "V1", {"voter": "V1", "choice": "blue"})]
    for n, (name, key, fields) in enumerate(requests):
        for attempt in (1, 2):
            operations.handle(conn, operations.build(name, ACCOUNT, key, fields, attempt=attempt), 20 + n)


def test_the_reads_give_the_same_answers_on_both(tmp_path: Path, pg_url: str) -> None:
    answers = []
    for db in (str(tmp_path / "bank.db"), pg_url):
        backend.open_sync(StoreConfig(db)).close()
        conn = backend.connect(db)
        try:
            the_same_story(conn)
            answers.append((
                queries.account_figures(conn, ACCOUNT), queries.ledger_totals(conn, ACCOUNT),
                queries.ledger_doubles(conn, ACCOUNT), queries.debited_ids(conn, ACCOUNT),
                sorted(queries.stored_responses(conn, ACCOUNT)), queries.balance_since(conn, ACCOUNT, 12),
                queries.read_state(conn, ACCOUNT), queries.operation_rows(conn, ACCOUNT, 10),
                queries.repeated_operations(conn, ACCOUNT), read_snapshot(conn, ACCOUNT),
            ))
        finally:
            conn.close()
    on_sqlite, on_pg = answers
    assert on_sqlite[1] == (3, 5800)  # the story did happen: T1, T2 and the payment P1 debited once
    assert on_pg == on_sqlite


def test_a_reader_of_an_unreachable_database_gets_a_sqlite_error() -> None:
    with pytest.raises(sqlite3.Error, match="PostgreSQL: connection"):
        backend.connect("postgresql://nobody@127.0.0.1:1/nothing")


async def test_the_class_view_reads_the_lanes_of_a_postgresql_bank(pg_url: str) -> None:
    from textual.widgets import DataTable

    from atm_tui.ui.class_app import ClassApp
    from atm_tui.ui.screens.class_view import read_lanes

    with serve(pg_url) as (_a, url_a), serve(pg_url) as (_b, url_b), httpx.Client(timeout=10) as client:
        for i, name in enumerate(("alice", "bob", "carol")):
            for attempt in range(2):  # the second is a replay, sent to the other server
                base = (url_a, url_b)[(i + attempt) % 2]
                answer = client.post(f"{base}{WITHDRAW}", json={"amount": 100},
                                     headers={"Idempotency-Key": f"{name}-T1", "Client-Id": name})
                assert answer.status_code == 201
    lanes = {lane.client: lane for lane in read_lanes(pg_url)}
    assert set(lanes) == {"alice", "bob", "carol"}
    for name, lane in lanes.items():
        counted = query(pg_url, "SELECT count(*) FROM deliveries WHERE client_id = ?", name)
        assert (lane.deliveries, lane.processed, lane.replayed, lane.debits) == (counted[0][0], 1, 1, 1)
        assert lane.doubled == ()
    # `atm-tui class --db URL`: the teacher's screen over the database both servers wrote; q quits.
    app = ClassApp(pg_url, postgres.shown(pg_url))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert sorted(row[0] for row in rows) == ["alice", "bob", "carol"], rows
        await pilot.press("q")
    assert app.return_code == 0
