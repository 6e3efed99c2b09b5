"""One bank, many clients, in one process: keys bound to clients, the lease's phases,
the clock rule, key numbers from the file, migration of a version 1 file, and the trace guard."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from engine_helpers import query, run_cli

from atm_tui.bank import clients
from atm_tui.bank.core import Withdrawal, withdraw, withdrawal_effect
from atm_tui.bank.idempotency import FOREIGN, IN_PROGRESS, Delivery, Lease, begin, complete, release
from atm_tui.bank.schema import SCHEMA_VERSION
from atm_tui.bank.store import StoreConfig, StoreError, open_sync

ACCOUNT = "A-1001"


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_sync(StoreConfig(str(tmp_path / "bank.db")))


def _req(key: str, client: str, amount: int = 5_000) -> Withdrawal:
    return Withdrawal(key, ACCOUNT, amount, 1, client)


def _delivery(req: Withdrawal) -> Delivery:
    return Delivery(ACCOUNT, req.txn_id, req.txn_id, req.fingerprint(), req.attempt, req.client)


def test_a_key_from_another_client_is_rejected_never_replayed(conn: sqlite3.Connection) -> None:
    first = withdraw(conn, _req("T123", "atm-1"), 10)
    other = withdraw(conn, _req("T123", "atm-2"), 20)  # the same body, another ATM
    assert first.outcome == "processed"
    assert other.outcome == "rejected" and other.reason == FOREIGN and not other.replayed
    assert FOREIGN in other.body and "balance_after" not in other.body
    assert conn.execute("SELECT txn_id, client_id FROM ledger").fetchall() == [("T123", "atm-1")]
    assert conn.execute("SELECT txn_id, outcome, client_id FROM deliveries ORDER BY id").fetchall() == [
        ("T123", "processed", "atm-1"), ("T123", "rejected", "atm-2")]
    keys = conn.execute("SELECT key, client_id, hits FROM idempotency_keys").fetchall()
    assert keys == [("T123", "atm-1", 1)]
    again = withdraw(conn, _req("T123", "atm-1"), 30)  # its own client still gets the replay
    assert again.outcome == "replayed" and again.body == first.body


def test_phase_one_holds_the_key_and_others_are_told_in_progress(conn: sqlite3.Connection) -> None:
    req = _req("K1", "c")
    d = _delivery(req)
    assert begin(conn, d, 100, Lease("w1:a", 1_100), rejected=lambda r: r) is None
    assert conn.execute("SELECT status, locked_until, lock_token FROM idempotency_keys").fetchall() == [
        (IN_PROGRESS, 1_100, "w1:a")]
    busy = begin(conn, d, 200, Lease("w2:b", 1_200), rejected=lambda r: r)
    assert busy is not None and busy.outcome == IN_PROGRESS
    foreign = begin(conn, _delivery(_req("K1", "other")), 200, Lease("w2:c", 1_200), rejected=lambda r: r)
    assert foreign is not None and foreign.outcome == "rejected" and foreign.reason == FOREIGN
    done = complete(conn, d, withdrawal_effect(req), 300, Lease("w1:a", 0))
    assert done is not None and done.outcome == "processed"
    assert conn.execute("SELECT status, locked_until, lock_token, hits FROM idempotency_keys").fetchall() == [
        ("approved", None, None, 1)]
    replay = begin(conn, d, 400, Lease("w3:d", 1_400), rejected=lambda r: r)
    assert replay is not None and replay.replayed and replay.body == done.body
    assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (1,)


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_can_never_debit(conn: sqlite3.Connection) -> None:
    req = _req("K2", "c")
    d = _delivery(req)
    assert begin(conn, d, 100, Lease("w1:old", 600), rejected=lambda r: r) is None
    # The holder stalls (or died); past the lease the retry takes the key over.
    assert begin(conn, d, 700, Lease("w2:new", 1_700), rejected=lambda r: r) is None
    late = complete(conn, d, withdrawal_effect(req), 800, Lease("w1:old", 0))
    assert late is None  # its token no longer holds the key: nothing committed
    assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
    done = complete(conn, d, withdrawal_effect(req), 900, Lease("w2:new", 0))
    assert done is not None and done.outcome == "processed"
    assert complete(conn, d, withdrawal_effect(req), 950, Lease("w2:new", 0)) is None  # completed once
    assert conn.execute("SELECT txn_id, amount FROM ledger").fetchall() == [("K2", 5_000)]
    assert conn.execute("SELECT balance FROM accounts").fetchone() == (45_000,)


def test_a_released_key_is_new_again(conn: sqlite3.Connection) -> None:
    req = _req("K3", "c")
    d = _delivery(req)
    assert begin(conn, d, 100, Lease("w1:x", 1_100), rejected=lambda r: r) is None
    release(conn, d, Lease("w1:x", 0))
    assert conn.execute("SELECT count(*) FROM idempotency_keys").fetchone() == (0,)
    assert begin(conn, d, 200, Lease("w1:y", 1_200), rejected=lambda r: r) is None


def test_the_one_transaction_path_answers_in_progress_for_a_held_key(conn: sqlite3.Connection) -> None:
    """The engine (and the app) share the file with `--serve`: a row held by HTTP is in progress."""
    req = _req("K4", "c")
    assert begin(conn, _delivery(req), 100, Lease("w1:z", 1_100), rejected=lambda r: r) is None
    assert withdraw(conn, req, 500).outcome == IN_PROGRESS
    assert withdraw(conn, req, 1_200).outcome == "processed"  # the lease lapsed: processed once
    assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (1,)


def test_numbers_claimed_from_the_file_never_overlap_and_start_at_123(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    open_sync(StoreConfig(db)).close()
    a = clients.claim(db, "T", 10, 123)
    b = clients.claim(db, "T", 5, 123)
    assert (a, b) == (123, 133)
    clients.give_back(db, "T", 130, 133)  # a's unused tail: b claimed after it, so nothing comes back
    assert clients.claim(db, "T", 1, 123) == 138
    clients.give_back(db, "T", 138, 139)  # the last block, unused: given back
    assert clients.claim(db, "T", 1, 123) == 138


def test_a_version_1_file_migrates_on_open_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    raw = sqlite3.connect(db)
    raw.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE accounts (id TEXT PRIMARY KEY, owner TEXT, balance INTEGER NOT NULL CHECK (balance >= 0),
                               opening_balance INTEGER NOT NULL);
        INSERT INTO accounts VALUES ('A-1001', 'Asha', 45000, 50000);
        CREATE TABLE ledger (id INTEGER PRIMARY KEY, txn_id TEXT NOT NULL, account_id TEXT NOT NULL,
                             amount INTEGER NOT NULL, balance_after INTEGER NOT NULL, at INTEGER NOT NULL,
                             operation TEXT NOT NULL DEFAULT 'withdraw');
        INSERT INTO ledger VALUES (1, 'T123', 'A-1001', 5000, 45000, 1700000000000, 'withdraw');
        CREATE TABLE idempotency_keys (account_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
            status TEXT NOT NULL, response TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0,
            first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, key));
        CREATE TABLE deliveries (id INTEGER PRIMARY KEY, txn_id TEXT NOT NULL, attempt INTEGER NOT NULL,
                                 outcome TEXT NOT NULL, at INTEGER NOT NULL);
        INSERT INTO deliveries VALUES (1, 'T123', 1, 'processed', 1700000000000);
    """)
    raw.close()
    # Its times are wall-clock dates (a version 1 serve wrote it): a virtual-clock program refuses it.
    with pytest.raises(StoreError, match="wall clock.*virtual clock"):
        open_sync(StoreConfig(str(db)))
    conn = open_sync(StoreConfig(str(db), clock="wall"))
    try:
        meta = conn.execute("SELECT value FROM meta ORDER BY key").fetchall()
        assert meta == [("wall",), (str(SCHEMA_VERSION),)]
        assert conn.execute("SELECT txn_id, client_id FROM ledger").fetchall() == [("T123", "")]
        assert conn.execute("SELECT client_id FROM deliveries").fetchall() == [("",)]
        cols = {r[1] for r in conn.execute("PRAGMA table_info(idempotency_keys)")}
        assert {"client_id", "locked_until", "lock_token"} <= cols
        assert clients.claim(str(db), "T", 1, 123) == 124  # numbering goes on after the stored T123
    finally:
        conn.close()


def test_simulate_then_serve_on_one_file_is_refused_naming_both_clocks(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert run_cli("simulate", "--db", str(db), "--withdrawals", "3").returncode == 0
    before = db.read_bytes()
    proc = run_cli("serve", "--db", str(db), "--port", "0")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "virtual clock" in proc.stderr and "wall clock" in proc.stderr and str(db) in proc.stderr
    assert db.read_bytes() == before
    assert query(str(db), "SELECT value FROM meta WHERE key = 'clock'") == [("virtual",)]


def test_trace_pointed_at_the_bank_is_refused_and_the_file_is_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert run_cli("simulate", "--db", str(db), "--withdrawals", "2").returncode == 0
    before = db.read_bytes()
    for path in (db, tmp_path / "bank.db-wal"):
        proc = run_cli("simulate", "--db", str(db), "--trace", str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "--trace" in proc.stderr and "bank's" in proc.stderr
    assert db.read_bytes() == before
    piped = run_cli("simulate", "--pipeline", "log", "--db", str(db), "--trace", str(db))
    assert piped.returncode == 2 and "bank's file" in piped.stderr
    assert db.read_bytes() == before


def test_trace_replaces_an_earlier_trace_but_never_another_file(tmp_path: Path) -> None:
    db, doc, trace = tmp_path / "bank.db", tmp_path / "notes.txt", tmp_path / "run.jsonl"
    doc.write_text("my notes\n")
    proc = run_cli("simulate", "--db", str(db), "--trace", str(doc))
    assert proc.returncode == 2 and "not an earlier trace" in proc.stderr
    assert doc.read_text() == "my notes\n" and not db.exists()
    assert run_cli("simulate", "--db", str(db), "--trace", str(trace), "--withdrawals", "1").returncode == 0
    first = trace.read_text()
    assert run_cli("simulate", "--db", str(db), "--trace", str(trace), "--withdrawals", "2").returncode == 0
    assert trace.read_text() != first and trace.read_text().endswith("\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no temporary left


async def test_a_pipeline_key_that_expired_is_its_own_outcome(tmp_path: Path) -> None:
    """A dedup window (--ttl) shorter than the redelivery: the charge is `key expired, charged again`."""
    from atm_tui.sim.pipeline.pipeline import PipelineConfig
    from atm_tui.sim.pipeline_run import simulate_pipeline
    from atm_tui.sim.trace import from_dict
    from atm_tui.ui.models.pipeline_model import PipelineModel

    trace = tmp_path / "trace.jsonl"
    config = PipelineConfig(messages=3, consumer="idempotent", crash_before_commit=0.9, ttl=1_000)
    result = await simulate_pipeline(config, StoreConfig(str(tmp_path / "bank.db")), trace=str(trace))
    events = [from_dict(json.loads(line)) for line in trace.read_text().splitlines()]
    again = [ev for ev in events if ev.kind == "key_expired_charged_again"]
    assert again and result.report.counts["charged_again"] == len(again)
    assert not result.report.ok  # charged more than once: VIOLATED, and said why
    model = PipelineModel()
    for ev in events:
        model(ev)
    first = again[0].txn_id
    assert model.status(first)[0].startswith("⚠ key expired, charged again")
    assert any("key expired, charged again" in line.text for line in model.lines)
    # The transactional consumer needs no window: its offset commits with the charge.
    config = PipelineConfig(messages=3, consumer="transactional", crash_before_commit=0.9, ttl=1_000)
    result = await simulate_pipeline(config, StoreConfig(str(tmp_path / "tx.db")))
    assert result.report.ok and result.report.counts["charged_again"] == 0
