"""Helpers for the engine tests: raw sqlite3 reads of the bank file and the CLI as a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from atm_tui.bank.core import Mode
from atm_tui.bank.service import Bank
from atm_tui.bank.store import StoreConfig

ROOT = Path(__file__).resolve().parent.parent


def read_db(path: str) -> sqlite3.Connection:
    """A separate plain connection, as a teacher's sqlite3 shell would open the file."""
    return sqlite3.connect(path)


def query(path: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = read_db(path)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


async def open_bank(
    path: str, mode: Mode = "idempotent", ttl: int = 86_400_000, opening: int = 50_000
) -> Bank:
    return await Bank(StoreConfig(path, opening_balance=opening), mode=mode, ttl=ttl).open()


def run_cli(*args: str, timeout: float = 60, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    """`python -m atm_tui ...` in a real process, as a user or a script would run it."""
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run(
        [sys.executable, "-m", "atm_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
