"""The bank's one idempotent transaction, and the three callers that pass it only their effect."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from atm_tui.bank import core, idempotency, operations, pipeline_store
from atm_tui.bank.idempotency import (
    PROCESSED,
    REJECTED,
    REPLAYED,
    BankCrash,
    Delivery,
    Mode,
    Response,
    transact,
)
from atm_tui.bank.store import DEFAULT_ACCOUNT, StoreConfig, open_sync

OTHER = "B-2002"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_sync(StoreConfig(str(tmp_path / "bank.db"), opening_balance=10_000))
    pipeline_store.prepare_pipeline(c, "payments")
    c.execute(
        "INSERT INTO accounts (id, owner, balance, opening_balance) VALUES (?, 'Ben', 10000, 10000)", (OTHER,)
    )
    yield c
    c.close()


def rows(conn: sqlite3.Connection, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql, params)]


# -- the transaction itself, with an effect of the test's own -----------------------------------
def counting_effect(calls: list[int]) -> idempotency.Effect:
    def effect(conn: sqlite3.Connection, now: int) -> tuple[str, str, int | None]:
        calls.append(now)
        conn.execute("INSERT INTO ballots (voter_id, choice, at) VALUES ('v', 'x', ?)", (now,))
        return PROCESSED, f'{{"n":{len(calls)},"status":"approved"}}', None

    return effect


def test_transact_runs_the_effect_once_and_replays_the_stored_body(conn: sqlite3.Connection) -> None:
    calls: list[int] = []
    d = Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp")
    first = transact(conn, d, counting_effect(calls), 10, rejected=lambda _reason: "no")
    again = transact(
        conn,
        Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp", 2),
        counting_effect(calls),
        20,
        rejected=lambda _reason: "no",
    )
    assert calls == [10]
    assert (first.outcome, first.hits, again.outcome, again.hits) == (PROCESSED, 1, REPLAYED, 2)
    assert again.body == first.body and again.replayed
    assert rows(conn, "SELECT attempt, outcome, at FROM deliveries") == [
        (1, "processed", 10),
        (2, "replayed", 20),
    ]
    assert rows(conn, "SELECT key, hits, first_seen, last_seen FROM idempotency_keys") == [("K1", 2, 10, 20)]
    assert rows(conn, "SELECT count(*) FROM ballots") == [(1,)]


def test_transact_rejects_another_fingerprint_and_keeps_the_key(conn: sqlite3.Connection) -> None:
    calls: list[int] = []
    transact(
        conn, Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp"), counting_effect(calls), 10,
        rejected=lambda _reason: "no",
    )
    other = transact(
        conn,
        Delivery(DEFAULT_ACCOUNT, "K1", "K1", "other", 2),
        counting_effect(calls),
        20,
        rejected=lambda _reason: '{"status":"rejected"}',
    )
    assert (other.outcome, other.status, other.body) == (REJECTED, "rejected", '{"status":"rejected"}')
    assert calls == [10]
    assert rows(conn, "SELECT outcome FROM deliveries ORDER BY id") == [("processed",), ("rejected",)]
    assert rows(conn, "SELECT fingerprint, hits FROM idempotency_keys") == [("fp", 1)]


def test_transact_forgets_an_expired_key(conn: sqlite3.Connection) -> None:
    calls: list[int] = []
    d = Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp")
    transact(conn, d, counting_effect(calls), 10, rejected=lambda _reason: "no", ttl=100)
    before = transact(conn, d, counting_effect(calls), 109, rejected=lambda _reason: "no", ttl=100)
    after = transact(conn, d, counting_effect(calls), 110, rejected=lambda _reason: "no", ttl=100)
    assert (before.outcome, after.outcome, after.expired_key) == (REPLAYED, PROCESSED, True)
    assert calls == [10, 110]
    assert rows(conn, "SELECT first_seen, expires_at, hits FROM idempotency_keys") == [(110, 210, 1)]


def test_transact_keys_are_scoped_by_account(conn: sqlite3.Connection) -> None:
    calls: list[int] = []
    transact(
        conn, Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp"), counting_effect(calls), 10,
        rejected=lambda _reason: "",
    )
    theirs = transact(
        conn, Delivery(OTHER, "K1", "K1", "fp"), counting_effect(calls), 20, rejected=lambda _reason: ""
    )
    assert theirs.outcome == PROCESSED and calls == [10, 20]
    assert rows(conn, "SELECT account_id FROM idempotency_keys ORDER BY account_id") == [
        (DEFAULT_ACCOUNT,),
        (OTHER,),
    ]


@pytest.mark.parametrize("mode", ["naive", "keyless"])
def test_transact_without_a_key_runs_every_delivery(conn: sqlite3.Connection, mode: str) -> None:
    calls: list[int] = []
    key = None if mode == "keyless" else "K1"
    run_mode: Mode = "naive" if mode == "naive" else "idempotent"
    for now in (10, 20):
        r = transact(
            conn,
            Delivery(DEFAULT_ACCOUNT, "K1", key, "fp"),
            counting_effect(calls),
            now,
            rejected=lambda _reason: "",
            mode=run_mode,
        )
        assert r.outcome == PROCESSED
    assert calls == [10, 20]
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    assert rows(conn, "SELECT outcome FROM deliveries") == [("processed",), ("processed",)]


def test_transact_split_mode_leaves_the_gap_open(conn: sqlite3.Connection) -> None:
    def crash(label: str) -> None:
        raise BankCrash(label)

    calls: list[int] = []
    with pytest.raises(BankCrash):
        transact(
            conn,
            Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp"),
            counting_effect(calls),
            10,
            rejected=lambda _reason: "",
            mode="split",
            gap_hook=crash,
        )
    assert not conn.in_transaction
    assert rows(conn, "SELECT count(*) FROM ballots") == [(1,)]  # the effect committed
    assert rows(conn, "SELECT count(*) FROM idempotency_keys") == [(0,)]  # the key did not


def test_transact_guard_and_finish_share_the_transaction(conn: sqlite3.Connection) -> None:
    calls: list[int] = []
    stop = transact(
        conn,
        Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp"),
        counting_effect(calls),
        10,
        rejected=lambda _reason: "",
        guard=lambda c: Response("fenced", "fenced", ""),
    )
    assert stop.outcome == "fenced" and calls == []

    def finish(c: sqlite3.Connection, resp: Response) -> Response:
        c.execute(
            "INSERT INTO orders (order_id, account_id, item, quantity, at) VALUES ('o', 'a', 'i', 1, 0)"
        )
        raise BankCrash("before commit")

    with pytest.raises(BankCrash):
        transact(
            conn,
            Delivery(DEFAULT_ACCOUNT, "K1", "K1", "fp"),
            counting_effect(calls),
            10,
            rejected=lambda _reason: "",
            finish=finish,
        )
    # All of it rolled back: effect, delivery, key and the finisher's own row.
    for table in ("ballots", "deliveries", "idempotency_keys", "orders"):
        assert rows(conn, f"SELECT count(*) FROM {table}") == [(0,)], table


# -- the three callers go through it --------------------------------------------------------------
Call = Callable[[sqlite3.Connection, int, int, int], Any]


def _withdraw(conn: sqlite3.Connection, amount: int, attempt: int, now: int) -> Any:
    return core.withdraw(conn, core.Withdrawal("X1", DEFAULT_ACCOUNT, amount, attempt), now, ttl=1_000)


def _payment(conn: sqlite3.Connection, amount: int, attempt: int, now: int) -> Any:
    op = operations.build("payment", DEFAULT_ACCOUNT, "X1", {"amount": amount}, attempt=attempt)
    return operations.handle(conn, op, now, ttl=1_000)


def _charge(conn: sqlite3.Connection, amount: int, attempt: int, now: int) -> Any:
    c = pipeline_store.Charge("X1", DEFAULT_ACCOUNT, amount, 0, 0, attempt)
    return pipeline_store.charge(conn, c, now, mode="idempotent", ttl=1_000)


CALLERS = {
    "core.withdraw": (core, _withdraw),
    "operations.handle": (operations, _payment),
    "pipeline_store.charge": (pipeline_store, _charge),
}


@pytest.mark.parametrize("name", list(CALLERS))
def test_every_caller_passes_its_effect_to_the_one_transaction(
    conn: sqlite3.Connection, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, call = CALLERS[name]
    seen: list[Delivery] = []

    def spy(c: sqlite3.Connection, d: Delivery, *args: Any, **kwargs: Any) -> Response:
        seen.append(d)
        return transact(c, d, *args, **kwargs)

    monkeypatch.setattr(module, "transact", spy)
    call(conn, 500, 1, 10)
    call(conn, 500, 2, 20)
    assert [(d.label, d.key, d.attempt) for d in seen] == [("X1", "X1", 1), ("X1", "X1", 2)]


@pytest.mark.parametrize("name", list(CALLERS))
def test_every_caller_follows_the_same_rules(conn: sqlite3.Connection, name: str) -> None:
    """Replay counts a hit, another body is rejected, an expired key (ttl 1 s) counts as new."""
    _, call = CALLERS[name]
    outcomes = [
        call(conn, 500, 1, 10).outcome,
        call(conn, 500, 2, 20).outcome,
        call(conn, 700, 3, 30).outcome,
        call(conn, 500, 4, 1_010).outcome,
    ]
    assert outcomes == [PROCESSED, REPLAYED, REJECTED, PROCESSED]
    assert rows(conn, "SELECT attempt, outcome FROM deliveries ORDER BY id") == [
        (1, "processed"),
        (2, "replayed"),
        (3, "rejected"),
        (4, "processed"),
    ]
    assert rows(conn, "SELECT amount FROM ledger WHERE txn_id = 'X1'") == [(500,), (500,)]
    assert rows(conn, "SELECT balance FROM accounts WHERE id = ?", DEFAULT_ACCOUNT) == [(9_000,)]
    assert rows(conn, "SELECT hits, first_seen, expires_at FROM idempotency_keys") == [(1, 1_010, 2_010)]
