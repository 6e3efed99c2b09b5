"""The bank's SQLite schema: public, so a teacher can open the file with the sqlite3 shell.

Version 2 (one bank, many clients) adds, to files of version 1 on open:

- `client_id TEXT NOT NULL DEFAULT ''` on `idempotency_keys`, `ledger` and `deliveries`: who sent
  the key ('' is an anonymous client, as every row of a version 1 file). The primary key of
  `idempotency_keys` stays (account_id, key): a key presented by another client than its first
  is refused, never replayed as somebody else's cash.
- `idempotency_keys.locked_until INTEGER` and `lock_token TEXT`: a key whose status is
  `in_progress` is held by one request until `locked_until` (a lease, on the file's clock);
  only the holder of `lock_token` may complete it (Brandur Leach's atomic phases). A completed
  key has both NULL.
- `meta` row `clock`: `virtual` (the app, simulate, scenarios, the pipeline) or `wall` (serve).
- `key_counters(prefix, next_number)`: transaction numbers handed out to the ATMs writing to the
  file, so two programs on one file never mint the same key for different requests.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

# Table and column names are a contract (README: schema); extra columns are ours.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    id              TEXT PRIMARY KEY,
    owner           TEXT,
    balance         INTEGER NOT NULL CHECK (balance >= 0),
    opening_balance INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    id            INTEGER PRIMARY KEY,
    txn_id        TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    operation     TEXT NOT NULL DEFAULT 'withdraw',
    client_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ledger_txn ON ledger(txn_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    account_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      TEXT NOT NULL,
    response    TEXT NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    client_id   TEXT NOT NULL DEFAULT '',
    locked_until INTEGER,
    lock_token  TEXT,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id      INTEGER PRIMARY KEY,
    txn_id  TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    at      INTEGER NOT NULL,
    client_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_txn ON deliveries(txn_id);
-- The other writes served by the same idempotent handler (bank/operations.py). No UNIQUE
-- constraint on purpose: the idempotency key is what keeps one row per request, and naive mode
-- must be able to show the duplicates it lets through.
CREATE TABLE IF NOT EXISTS payments (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    account_id TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    keyed      INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id         INTEGER PRIMARY KEY,
    order_id   TEXT NOT NULL,
    account_id TEXT NOT NULL,
    item       TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
-- The next transaction number of each key prefix, taken in blocks by the ATMs on this file.
CREATE TABLE IF NOT EXISTS key_counters (
    prefix      TEXT PRIMARY KEY,
    next_number INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ballots (
    id       INTEGER PRIMARY KEY,
    voter_id TEXT NOT NULL,
    choice   TEXT NOT NULL,
    at       INTEGER NOT NULL
);
"""

REQUIRED_TABLES = ("meta", "accounts", "ledger", "idempotency_keys", "deliveries")

# Columns a version 1 file lacks, added on open (ALTER TABLE ADD COLUMN keeps every row).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ledger", "client_id", "TEXT NOT NULL DEFAULT ''"),
    ("idempotency_keys", "client_id", "TEXT NOT NULL DEFAULT ''"),
    ("idempotency_keys", "locked_until", "INTEGER"),
    ("idempotency_keys", "lock_token", "TEXT"),
    ("deliveries", "client_id", "TEXT NOT NULL DEFAULT ''"),
)

Clock = str  # "virtual" | "wall"
VIRTUAL = "virtual"
WALL = "wall"
CLOCKS: tuple[str, ...] = (VIRTUAL, WALL)
# Who keeps each clock, for the one-line refusal.
CLOCK_USERS = {VIRTUAL: "the app, simulate, the pipeline and scenarios", WALL: "atm-tui serve"}
# A stored time at or past this is a wall-clock date (2001-09-09 in ms since the epoch): how a
# version 1 file without a `clock` row tells which clock wrote it.
WALL_CLOCK_FLOOR = 1_000_000_000_000
