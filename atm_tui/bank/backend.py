"""Which store a `--db` value names, a SQLite file or a PostgreSQL URL, and one call that opens either."""

from __future__ import annotations

import sqlite3

from atm_tui.bank import postgres, store
from atm_tui.bank.store import StoreConfig


def open_sync(config: StoreConfig) -> sqlite3.Connection:
    """Open the bank `config.path` names: a PostgreSQL database for a postgresql:// URL, else a file.

    Both connections offer the same surface (postgres.py's adapter speaks sqlite3's), which is
    all the bank's shared transaction code uses.
    """
    if postgres.is_url(config.path):
        return postgres.open_sync(config)  # type: ignore[return-value]  # the adapter's surface
    return store.open_sync(config)


def describe(config: StoreConfig) -> str:
    """The bank's store in a few words, for a banner: never a password."""
    if postgres.is_url(config.path):
        return f"PostgreSQL {postgres.shown(config.path)}"
    return f"database {config.path}, WAL, synchronous={config.synchronous}"


def connect(path: str) -> sqlite3.Connection:
    """A connection to an existing bank of either kind, for reading it (no schema check, no write).

    A PostgreSQL server that cannot be reached raises `postgres.PostgresError`, a sqlite3 error,
    as a locked or missing file does.
    """
    if postgres.is_url(path):
        return postgres.read_connection(path)  # type: ignore[return-value]  # the adapter's surface
    return store.connect(path)
