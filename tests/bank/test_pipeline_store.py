"""The pipeline's bank transactions, straight on a SQLite file: charges, offsets and fencing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atm_tui.bank import pipeline_store as ps
from atm_tui.bank.core import PROCESSED, REPLAYED
from atm_tui.bank.store import DEFAULT_ACCOUNT, StoreConfig, open_sync

GROUP, TOPIC = "billing", "payments"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_sync(StoreConfig(str(tmp_path / "bank.db"), opening_balance=10_000))
    ps.prepare_pipeline(c, TOPIC)
    yield c
    c.close()


def dump(conn: sqlite3.Connection) -> list[str]:
    """Every row of every table, as SQL: equal dumps mean nothing changed."""
    return list(conn.iterdump())


def charge(offset: int, delivery: int = 1, message: str | None = None, amount: int = 500) -> ps.Charge:
    return ps.Charge(message or f"M{offset + 1}", DEFAULT_ACCOUNT, amount, 0, offset, delivery)


def ledger(conn: sqlite3.Connection) -> list[tuple[str, int, str]]:
    return list(conn.execute("SELECT txn_id, amount, operation FROM ledger ORDER BY id"))


def test_naive_charges_every_delivery(conn: sqlite3.Connection) -> None:
    for delivery in (1, 2):
        r = ps.charge(conn, charge(0, delivery), 10, mode="naive")
        assert r.outcome == PROCESSED
    assert ledger(conn) == [("M1", 500, "charge"), ("M1", 500, "charge")]
    assert ps.read_balance(conn, DEFAULT_ACCOUNT) == 9_000


def test_idempotent_charges_once_and_counts_the_hit(conn: sqlite3.Connection) -> None:
    first = ps.charge(conn, charge(0, 1), 10, mode="idempotent")
    again = ps.charge(conn, charge(0, 2), 20, mode="idempotent")
    assert (first.outcome, again.outcome, again.hits) == (PROCESSED, REPLAYED, 2)
    assert ledger(conn) == [("M1", 500, "charge")]
    assert list(conn.execute("SELECT attempt, outcome FROM deliveries ORDER BY id")) == [
        (1, "processed"),
        (2, "replayed"),
    ]
    assert conn.execute("SELECT hits FROM idempotency_keys WHERE key = 'M1'").fetchone() == (2,)


def test_transactional_stores_the_offset_with_the_charge(conn: sqlite3.Connection) -> None:
    epoch, offsets = ps.join_group(conn, GROUP, TOPIC, 1, 0)
    assert (epoch, offsets) == (1, [0])
    commit = ps.OffsetCommit(GROUP, TOPIC, 0, 1, epoch)
    r = ps.charge(conn, charge(0), 10, mode="transactional", commit=commit)
    assert r.outcome == PROCESSED and r.committed
    assert ps.read_offsets(conn, GROUP, TOPIC) == {0: (1, 1)}
    assert ledger(conn) == [("M1", 500, "charge")]


def test_a_crash_before_commit_rolls_back_charge_and_offset(conn: sqlite3.Connection) -> None:
    epoch, _ = ps.join_group(conn, GROUP, TOPIC, 1, 0)
    before = dump(conn)

    def crash() -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        ps.charge(
            conn,
            charge(0),
            10,
            mode="transactional",
            commit=ps.OffsetCommit(GROUP, TOPIC, 0, 1, epoch),
            before_commit=crash,
        )
    assert dump(conn) == before
    assert not conn.in_transaction


def test_a_zombie_commit_is_refused_and_changes_nothing(conn: sqlite3.Connection) -> None:
    old, _ = ps.join_group(conn, GROUP, TOPIC, 1, 0)
    ps.charge(conn, charge(0), 10, mode="idempotent")  # the old member charged M1, then froze
    new, offsets = ps.join_group(conn, GROUP, TOPIC, 1, 3_000)  # its replacement
    assert (old, new, offsets) == (1, 2, [0])
    ps.charge(conn, charge(0, 2), 3_100, mode="idempotent")
    assert ps.commit_offset(conn, ps.OffsetCommit(GROUP, TOPIC, 0, 1, new), 3_150).ok
    before = dump(conn)
    refused = ps.commit_offset(conn, ps.OffsetCommit(GROUP, TOPIC, 0, 1, old), 6_000)
    assert (refused.ok, refused.current_epoch) == (False, 2)
    assert dump(conn) == before
    assert ps.read_offsets(conn, GROUP, TOPIC) == {0: (1, 2)}


def test_a_zombie_transaction_is_refused_whole(conn: sqlite3.Connection) -> None:
    old, _ = ps.join_group(conn, GROUP, TOPIC, 1, 0)
    new, _ = ps.join_group(conn, GROUP, TOPIC, 1, 3_000)
    before = dump(conn)
    r = ps.charge(
        conn, charge(4), 6_000, mode="transactional", commit=ps.OffsetCommit(GROUP, TOPIC, 0, 5, old)
    )
    assert (r.outcome, r.current_epoch) == (ps.FENCED, new)
    assert dump(conn) == before
    assert ledger(conn) == []


def test_a_new_topic_forgets_old_offsets_but_not_the_epoch(conn: sqlite3.Connection) -> None:
    epoch, _ = ps.join_group(conn, GROUP, TOPIC, 1, 0)
    ps.commit_offset(conn, ps.OffsetCommit(GROUP, TOPIC, 0, 7, epoch), 5)
    ps.prepare_pipeline(conn, TOPIC)
    again, offsets = ps.join_group(conn, GROUP, TOPIC, 1, 10)
    assert (again, offsets) == (2, [0])


def test_a_decline_is_not_a_charge(conn: sqlite3.Connection) -> None:
    r = ps.charge(conn, charge(0, amount=20_000), 10, mode="idempotent")
    assert r.outcome == "declined"
    assert ledger(conn) == [] and ps.read_balance(conn, DEFAULT_ACCOUNT) == 10_000
    assert ps.declined_ids(conn, ["M1", "M2"]) == {"M1"}
