"""The bank's SQLite schema: public, so a teacher can open the file with the sqlite3 shell."""

from __future__ import annotations

SCHEMA_VERSION = 1

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
    operation     TEXT NOT NULL DEFAULT 'withdraw'
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
    PRIMARY KEY (account_id, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id      INTEGER PRIMARY KEY,
    txn_id  TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    at      INTEGER NOT NULL
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
CREATE TABLE IF NOT EXISTS ballots (
    id       INTEGER PRIMARY KEY,
    voter_id TEXT NOT NULL,
    choice   TEXT NOT NULL,
    at       INTEGER NOT NULL
);
"""

REQUIRED_TABLES = ("meta", "accounts", "ledger", "idempotency_keys", "deliveries")
