"""Opening the bank's SQLite file: checks that name the bad input, the schema, and the reset."""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from atm_tui.bank.money import MAX_BALANCE
from atm_tui.bank.schema import (
    ADDED_COLUMNS,
    CLOCK_USERS,
    REQUIRED_TABLES,
    SCHEMA,
    SCHEMA_VERSION,
    VIRTUAL,
    WALL,
    WALL_CLOCK_FLOOR,
)
from atm_tui.paths import quoted

Synchronous = Literal["normal", "full"]
DEFAULT_ACCOUNT = "A-1001"
DEFAULT_OWNER = "Asha"
DEFAULT_OPENING_BALANCE = 50_000
SQLITE_HEADER = b"SQLite format 3\x00"

# The columns this code reads from a file it did not create, table by table. A file whose table of
# one of these names lacks one of them is another program's database that happens to reuse the
# name: refused before anything is written (today's file may have more columns: those are fine).
COLUMNS: dict[str, frozenset[str]] = {
    "meta": frozenset({"key", "value"}),
    "accounts": frozenset({"id", "owner", "balance", "opening_balance"}),
    "ledger": frozenset({"id", "txn_id", "account_id", "amount", "balance_after", "at", "operation"}),
    "idempotency_keys": frozenset({"account_id", "key", "fingerprint", "status", "response", "hits",
                                   "first_seen", "last_seen", "expires_at"}),
    "deliveries": frozenset({"id", "txn_id", "attempt", "outcome", "at"}),
    "payments": frozenset({"id", "key", "account_id", "amount", "keyed", "at"}),
    "orders": frozenset({"id", "order_id", "account_id", "item", "quantity", "at"}),
    "ballots": frozenset({"id", "voter_id", "choice", "at"}),
    "consumer_groups": frozenset({"group_id", "epoch", "joined_at"}),
    "consumer_offsets": frozenset({"group_id", "topic", "partition", "next_offset", "epoch", "committed_at"}),
}


class StoreError(Exception):
    """A database that cannot be used; the message is one line naming the path and the fix."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: str
    opening_balance: int = DEFAULT_OPENING_BALANCE
    account_id: str = DEFAULT_ACCOUNT
    owner: str = DEFAULT_OWNER
    fresh: bool = False
    synchronous: Synchronous = "normal"
    clock: str = VIRTUAL  # the clock of the times this program stores: virtual or wall (serve)


def check_path(path: str) -> bool:
    """Check a database path before SQLite touches it. Returns True if the file already exists."""
    if path == ":memory:":
        return False
    if path == "":
        raise StoreError("database path '': empty; give a file path such as bank.db")
    try:
        return _check_path(Path(path), path)
    except OSError as exc:  # a name too long, a loop of symlinks, a folder we may not search
        raise StoreError(
            f"database path {quoted(path)}: cannot use it ({exc.strerror or exc}); pick another path"
        ) from None
    except ValueError as exc:  # a NUL byte
        raise StoreError(f"database path {quoted(path)}: cannot use it ({exc}); pick another path") from None


def _check_path(p: Path, path: str) -> bool:
    if p.is_dir():
        raise StoreError(f"database path {path}: is a folder; give a file path such as {p / 'bank.db'}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise StoreError(
            f"database path {path}: folder {parent} does not exist; create it or pick another path"
        )
    if not p.exists():
        if not os.access(parent, os.W_OK):
            raise StoreError(f"database path {path}: folder {parent} is not writable")
        return False
    mode = p.stat().st_mode
    # Root ignores permission bits, so check them ourselves: a read-only file means "do not write".
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(p, os.W_OK):
        raise StoreError(f"database path {path}: file is read-only; make it writable or pick another path")
    if p.stat().st_size and not _is_sqlite(p):
        raise StoreError(
            f"database path {path}: not a SQLite database; give an atm-tui database or a new file name"
        )
    return True


def _is_sqlite(p: Path) -> bool:
    """Whether a non-empty file is a SQLite database, asked of SQLite itself, read-only.

    Not with open(): closing any descriptor of a file drops every POSIX lock this process holds on
    it, the bank's own open connection's included (the pipeline's `p` and `--serve` check a file
    that is already open). A sqlite3 shell would then think itself the last reader and delete the
    WAL, and the commits that follow would be lost. SQLite keeps one descriptor per file for all
    of a process's connections and defers its close, so asking SQLite is safe.
    """
    conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc)  # locked or busy is still SQLite: opening says so
    finally:
        conn.close()
    return True


def remove_new_file(path: str) -> None:
    """Remove a file this app just created (and its WAL companions) after opening it failed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except OSError:
            pass


def describe_error(path: str, exc: sqlite3.Error) -> StoreError:
    """One line for a SQLite error on the bank's file: what went wrong and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database path {path}: database is locked by another program; close it and try again"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreError(f"database path {path}: database is corrupt ({text}); use --fresh with a new path")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"database path {path}: file is read-only; make it writable or pick another path")
    return StoreError(f"database path {path}: cannot use it ({text})")


def check_schema_version(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a file written by a newer atm-tui: this one would misread what it does not know.

    Only reads, so the refused file stays byte for byte as it was.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return  # made before the version was stored, or being made now: this app's schema
    try:
        version = int(row[0])
    except ValueError:
        version = -1
    if version < 1:
        raise StoreError(
            f"database path {path}: schema version {row[0]!r} is not one this app reads (it reads"
            f" version {SCHEMA_VERSION}); open it with the atm-tui that wrote it, or pick another path"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database path {path}: schema version {version} is newer than this app reads"
            f" (version {SCHEMA_VERSION}); open it with a newer atm-tui, or pick another path"
        )


def check_columns(conn: sqlite3.Connection, path: str, tables: set[str]) -> None:
    """Refuse a file whose table of a bank's name lacks a column the bank reads. Only reads."""
    for table in sorted(tables & set(COLUMNS)):
        found = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        missing = sorted(COLUMNS[table] - found)
        if missing:
            raise StoreError(
                f"database path {quoted(path)}: a SQLite file but not an atm-tui bank (its table"
                f" {table} lacks {', '.join(missing)}); give an atm-tui database or a new file name"
            )


def connect(path: str) -> sqlite3.Connection:
    """A raw connection in autocommit mode: every transaction is an explicit BEGIN IMMEDIATE."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.5)


def prepare(conn: sqlite3.Connection, config: StoreConfig, existed: bool) -> None:
    """Set pragmas, check or create the schema and the account, all or nothing. Runs on any thread."""
    if not 0 <= config.opening_balance <= MAX_BALANCE:
        raise StoreError(
            f"opening balance {config.opening_balance}:"
            f" use a whole number of rupees from 0 to {MAX_BALANCE:,}"
        )
    try:
        # Check before switching to WAL: that switch rewrites the header of a file we may refuse.
        if existed:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise StoreError(f"database path {config.path}: database is corrupt ({ok}); use a new path")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and not set(REQUIRED_TABLES) <= tables:
                missing = ", ".join(sorted(set(REQUIRED_TABLES) - tables))
                raise StoreError(
                    f"database path {config.path}: a SQLite file but not an atm-tui bank (missing {missing})"
                )
            check_columns(conn, config.path, tables)
            if "meta" in tables:
                check_schema_version(conn, config.path)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if config.path != ":memory:" and str(mode).lower() != "wal":
            raise StoreError(f"database path {config.path}: cannot switch to WAL journal (got {mode})")
        conn.execute(f"PRAGMA synchronous={config.synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        migrate(conn)
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        if config.fresh:
            for table in ("ledger", "idempotency_keys", "deliveries", "payments", "orders", "ballots",
                          "accounts", "key_counters"):
                conn.execute(f"DELETE FROM {table}")
        check_clock(conn, config)
        conn.execute(
            "INSERT OR IGNORE INTO accounts (id, owner, balance, opening_balance) VALUES (?, ?, ?, ?)",
            (config.account_id, config.owner, config.opening_balance, config.opening_balance),
        )
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise describe_error(config.path, exc) from None
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a version 1 file to this schema inside the caller's transaction; rows are kept."""
    for table, column, decl in ADDED_COLUMNS:
        have = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
                 (str(SCHEMA_VERSION), SCHEMA_VERSION))


def _latest_time(conn: sqlite3.Connection) -> int | None:
    """The latest time stored in the file, or None when it holds no timed row yet."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT max(at) FROM ledger), -1),"
        " coalesce((SELECT max(at) FROM deliveries), -1),"
        " coalesce((SELECT max(last_seen) FROM idempotency_keys), -1))"
    ).fetchone()
    latest = int(row[0])
    return None if latest < 0 else latest


def check_clock(conn: sqlite3.Connection, config: StoreConfig) -> None:
    """One clock per file: store ours on a file without times, refuse a file kept on the other.

    Inside the caller's transaction. A version 1 file has no `clock` row: its times tell (a
    wall-clock time is a date in ms since 1970, far past any virtual run).
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
    latest = _latest_time(conn)
    if latest is None:
        stored = config.clock  # nothing timed yet: the file takes this program's clock
    elif row is not None:
        stored = str(row[0])
    else:
        stored = WALL if latest >= WALL_CLOCK_FLOOR else VIRTUAL
    if stored != config.clock:
        raise StoreError(
            f"database path {config.path}: its times are on the {stored} clock"
            f" ({CLOCK_USERS.get(stored, stored)}), this program keeps the {config.clock} clock"
            f" ({CLOCK_USERS.get(config.clock, config.clock)}); keys would expire at the wrong time."
            " Use another file, or --fresh to empty this one"
        )
    conn.execute("INSERT INTO meta (key, value) VALUES ('clock', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (stored,))


def open_sync(config: StoreConfig) -> sqlite3.Connection:
    """Open (creating if needed) the bank's file; on any failure a new file is removed again."""
    existed = check_path(config.path)
    try:
        conn = connect(config.path)
    except sqlite3.Error as exc:
        raise describe_error(config.path, exc) from None
    try:
        prepare(conn, config, existed)
    except BaseException:
        conn.close()
        if not existed:
            remove_new_file(config.path)
        raise
    return conn
