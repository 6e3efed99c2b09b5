"""Opening the bank's file: good files open, bad ones fail with one line and are left untouched."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import query, run_cli

from atm_tui.bank import store
from atm_tui.bank.service import Bank, Bridge
from atm_tui.bank.store import StoreConfig, StoreError, check_path, open_sync

BRIDGES: tuple[Bridge, ...] = ("inline", "aiosqlite")
PAGE = 4096


async def open_via(bridge: Bridge, config: StoreConfig) -> None:
    bank = Bank(config, bridge=bridge)
    await bank.open()
    await bank.close()


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def make_bank_file(path: Path, opening: int = 50_000) -> None:
    conn = open_sync(StoreConfig(str(path), opening_balance=opening))
    conn.close()


def assert_one_line(exc: StoreError, path: Path, *words: str) -> None:
    message = str(exc)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_new_file_gets_schema_wal_and_the_account(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    conn = open_sync(StoreConfig(str(path), opening_balance=70_000, synchronous="full"))
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        conn.close()
    tables = {r[0] for r in query(str(path), "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "ledger", "idempotency_keys", "deliveries"} <= tables
    accounts = query(str(path), "SELECT id, balance, opening_balance FROM accounts")
    assert accounts == [("A-1001", 70_000, 70_000)]


def test_reopen_keeps_the_balance_and_fresh_resets_it(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    make_bank_file(path)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE accounts SET balance = 45000")
    raw.execute(
        "INSERT INTO ledger (txn_id, account_id, amount, balance_after, at)"
        " VALUES ('T1', 'A-1001', 5000, 45000, 1)"
    )
    raw.commit()
    raw.close()
    open_sync(StoreConfig(str(path), opening_balance=99_900)).close()
    assert query(str(path), "SELECT balance, opening_balance FROM accounts") == [(45_000, 50_000)]
    open_sync(StoreConfig(str(path), opening_balance=99_900, fresh=True)).close()
    assert query(str(path), "SELECT balance, opening_balance FROM accounts") == [(99_900, 99_900)]
    assert query(str(path), "SELECT count(*) FROM ledger") == [(0,)]


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_missing_folder(tmp_path: Path, bridge: Bridge) -> None:
    path = tmp_path / "nope" / "bank.db"
    with pytest.raises(StoreError) as info:
        await open_via(bridge, StoreConfig(str(path)))
    assert_one_line(info.value, path, "does not exist")
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_folder_as_path(tmp_path: Path, bridge: Bridge) -> None:
    folder = tmp_path / "adir"
    folder.mkdir()
    with pytest.raises(StoreError) as info:
        await open_via(bridge, StoreConfig(str(folder)))
    assert_one_line(info.value, folder, "folder")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_read_only_file_is_refused_and_unchanged(tmp_path: Path, bridge: Bridge) -> None:
    path = tmp_path / "bank.db"
    make_bank_file(path)
    before = path.read_bytes()
    names = siblings(path)
    os.chmod(path, 0o444)
    try:
        with pytest.raises(StoreError) as info:
            await open_via(bridge, StoreConfig(str(path), fresh=True))
        assert_one_line(info.value, path, "read-only")
    finally:
        os.chmod(path, 0o644)
    assert path.read_bytes() == before
    assert siblings(path) == names


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_locked_database(tmp_path: Path, bridge: Bridge) -> None:
    path = tmp_path / "bank.db"
    make_bank_file(path)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    locker.execute("UPDATE accounts SET balance = 1")
    try:
        with pytest.raises(StoreError) as info:
            await open_via(bridge, StoreConfig(str(path), fresh=True))
        assert_one_line(info.value, path, "locked")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    # The refused open changed nothing: the account is as it was, the fresh reset never ran.
    assert query(str(path), "SELECT balance FROM accounts") == [(50_000,)]


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(3 * PAGE))


def _overwritten_pages(path: Path) -> None:
    make_bank_file(path)
    data = bytearray(path.read_bytes())
    assert len(data) >= 3 * PAGE and data[:16] == store.SQLITE_HEADER
    # Keep the header page so SQLite believes the file, then trash every page after it.
    rng = random.Random(11)
    data[PAGE:] = rng.randbytes(len(data) - PAGE)
    path.write_bytes(bytes(data))


def _not_a_bank(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
    conn.execute("INSERT INTO recipes VALUES ('dal', 40)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("bridge", BRIDGES)
@pytest.mark.parametrize(
    ("make", "words"),
    [(_random_bytes, ("not a SQLite database",)), (_overwritten_pages, ("corrupt",)),
     (_not_a_bank, ("not an atm-tui bank",))],
)  # fmt: skip
async def test_bad_existing_file_is_refused_and_left_byte_identical(
    tmp_path: Path, bridge: Bridge, make: Callable[[Path], None], words: tuple[str, ...]
) -> None:
    path = tmp_path / "bank.db"
    make(path)
    before = path.read_bytes()
    names = siblings(path)
    with pytest.raises(StoreError) as info:
        await open_via(bridge, StoreConfig(str(path), fresh=True))
    assert_one_line(info.value, path, *words)
    assert path.read_bytes() == before
    assert siblings(path) == names


def test_failed_create_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bank.db"
    # A statement that fails after SQLite has created the file and its WAL.
    monkeypatch.setattr(store, "SCHEMA", store.SCHEMA + "\nCREATE TABLE broken (;\n")
    with pytest.raises(StoreError) as info:
        open_sync(StoreConfig(str(path)))
    assert_one_line(info.value, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_failed_create_via_bank_leaves_no_file(
    tmp_path: Path, bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bank.db"
    monkeypatch.setattr(store, "SCHEMA", store.SCHEMA + "\nCREATE TABLE broken (;\n")
    with pytest.raises(StoreError):
        await open_via(bridge, StoreConfig(str(path)))
    assert list(tmp_path.iterdir()) == []


def test_bad_opening_balance_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    with pytest.raises(StoreError) as info:
        open_sync(StoreConfig(str(path), opening_balance=-1))
    assert "opening balance" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_check_path_reports_existence(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    assert check_path(str(path)) is False
    make_bank_file(path)
    assert check_path(str(path)) is True
    empty = tmp_path / "empty.db"
    empty.touch()
    assert check_path(str(empty)) is True


def _stamp_version(path: Path, version: str) -> None:
    """A bank file as a newer (or a foreign) atm-tui would leave it: its meta says another version."""
    open_sync(StoreConfig(str(path))).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
        conn.execute("PRAGMA journal_mode=DELETE")  # a file at rest: nothing but the main file
    finally:
        conn.close()


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_a_newer_schema_version_is_refused_and_left_untouched(tmp_path: Path, bridge: Bridge) -> None:
    db = tmp_path / "bank.db"
    _stamp_version(db, str(store.SCHEMA_VERSION + 1))
    before, files = db.read_bytes(), siblings(db)
    with pytest.raises(StoreError) as err:
        await open_via(bridge, StoreConfig(str(db)))
    message = str(err.value)
    assert "\n" not in message and str(db) in message
    assert f"schema version {store.SCHEMA_VERSION + 1} is newer" in message
    assert f"(version {store.SCHEMA_VERSION})" in message
    assert db.read_bytes() == before and siblings(db) == files


def test_an_unreadable_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    _stamp_version(db, "two")
    before = db.read_bytes()
    with pytest.raises(StoreError, match="schema version 'two' is not one this app reads"):
        open_sync(StoreConfig(str(db)))
    assert db.read_bytes() == before


def test_the_current_schema_version_opens(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    _stamp_version(db, str(store.SCHEMA_VERSION))
    open_sync(StoreConfig(str(db))).close()
    stored = query(str(db), "SELECT value FROM meta WHERE key = 'schema_version'")
    assert stored == [(str(store.SCHEMA_VERSION),)]


@pytest.mark.parametrize("pipeline", [False, True])
def test_the_cli_refuses_a_newer_schema_with_exit_2_and_the_file_unchanged(
    tmp_path: Path, pipeline: bool
) -> None:
    db = tmp_path / "bank.db"
    _stamp_version(db, "7")
    before = db.read_bytes()
    args = ["simulate", "--db", str(db), "--withdrawals", "1"] if not pipeline else [
        "simulate", "--pipeline", "log", "--db", str(db), "--messages", "1"]
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert str(db) in proc.stderr and "schema version 7 is newer than this app reads" in proc.stderr
    assert f"(version {store.SCHEMA_VERSION})" in proc.stderr
    assert db.read_bytes() == before
    assert siblings(db) == ["bank.db"]


def test_checking_the_path_again_keeps_an_open_connections_locks(tmp_path: Path) -> None:
    """A second open of the same file in this process (the pipeline's `p`, `--serve`) must not drop
    the first connection's POSIX locks: an outside sqlite3 reader would then take the file for its
    own, delete the WAL on close, and the first connection's later commits would be lost."""
    import subprocess
    import sys

    from atm_tui.bank.store import StoreConfig, check_path, open_sync

    db = str(tmp_path / "bank.db")
    conn = open_sync(StoreConfig(db))
    try:
        conn.execute("INSERT INTO meta(key, value) VALUES ('probe', 'one')")
        conn.commit()
        assert check_path(db) is True  # what opening the pipeline or the HTTP bank does first
        reader = (  # a teacher's sqlite3 shell: reads, then closes (the last reader checkpoints)
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
            " c.execute('SELECT 1 FROM meta').fetchall(); c.close()"
        )
        subprocess.run([sys.executable, "-c", reader, db], check=True, timeout=30)
        conn.execute("INSERT INTO meta(key, value) VALUES ('probe2', 'two')")
        conn.commit()
        count = (
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
            ".execute(\"SELECT count(*) FROM meta WHERE key LIKE 'probe%'\").fetchone()[0])"
        )
        seen = subprocess.run(
            [sys.executable, "-c", count, db], check=True, capture_output=True, text=True, timeout=30
        )
        assert seen.stdout.strip() == "2"  # the second commit is in the file, not in a deleted WAL
    finally:
        conn.close()
