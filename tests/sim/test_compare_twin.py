"""Compare mode's naive twin, headless: the same deliveries, two banks, two different balances."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.compare import twin_path
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Delivered, Event, Twin


def _ledger(path: str) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT txn_id, amount FROM ledger ORDER BY id")]


def _balance(path: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT balance FROM accounts").fetchone()[0])


async def _story(db: str, *, twin: bool, mode: str = "idempotent") -> list[Event]:
    engine = await Engine.open(SimConfig(seed=7), StoreConfig(db, fresh=True))
    events: list[Event] = []
    engine.world.subscribe(events.append)
    if twin:
        await engine.open_twin(fresh=True)
    if mode == "naive":
        engine.set_mode("naive")
    engine.drop_next_replies(2)
    engine.withdraw()
    await engine.run_until_idle()
    await engine.close()
    return events


def test_twin_path_sits_next_to_the_bank() -> None:
    assert twin_path("/x/y/bank.db") == "/x/y/bank-naive.db"
    assert twin_path("/x/y/bank") == "/x/y/bank-naive.db"


async def test_story_costs_the_naive_twin_three_debits(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    events = await _story(db, twin=True)
    assert _ledger(db) == [("T123", 5000)]
    assert _balance(db) == 45_000
    twin = twin_path(db)
    assert _ledger(twin) == [("T123", 5000)] * 3
    assert _balance(twin) == 35_000
    twins = [e for e in events if isinstance(e, Twin)]
    delivered = [e for e in events if isinstance(e, Delivered) and e.op == "withdraw"]
    # Fed the very same deliveries: one twin event per delivery, same attempts, in order.
    assert [(e.txn_id, e.attempt) for e in twins] == [(e.txn_id, e.attempt) for e in delivered]
    assert [e.balance_after for e in twins] == [45_000, 40_000, 35_000]
    assert Twin(1, "T1", 1, "processed", 5, 0).to_json().startswith('{"t":1,"kind":"twin"')


async def test_twin_does_not_change_the_main_trace(tmp_path: Path) -> None:
    with_twin = await _story(str(tmp_path / "a.db"), twin=True)
    without = await _story(str(tmp_path / "b.db"), twin=False)
    assert [e.to_json() for e in with_twin if not isinstance(e, Twin)] == [e.to_json() for e in without]


async def test_naive_bank_and_twin_agree(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    await _story(db, twin=True, mode="naive")
    assert _balance(db) == 35_000
    assert _balance(twin_path(db)) == 35_000


async def test_twin_resets_with_the_bank(tmp_path: Path) -> None:
    db = str(tmp_path / "bank.db")
    engine = await Engine.open(SimConfig(), StoreConfig(db, fresh=True))
    twin = await engine.open_twin(fresh=True)
    engine.withdraw()
    await engine.run_until_idle()
    assert (await twin.snapshot()).balance == 45_000
    await twin.reset()
    assert (await twin.snapshot()).balance == 50_000
    await engine.close()
    assert engine.twin is None
