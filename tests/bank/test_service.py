"""The async Bank facade: both bridges run the same transactions and read back the same snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import query

from atm_tui.bank.core import Withdrawal
from atm_tui.bank.service import Bank, Bridge
from atm_tui.bank.store import StoreConfig, StoreError

BRIDGES: tuple[Bridge, ...] = ("inline", "aiosqlite")


async def filled(path: Path, bridge: Bridge) -> Bank:
    bank = await Bank(StoreConfig(str(path)), bridge=bridge).open()
    for n, attempt in ((123, 1), (123, 2), (124, 1), (125, 1), (125, 2), (125, 3)):
        await bank.withdraw(Withdrawal(f"T{n}", bank.account_id, 5000, attempt), n * 10 + attempt)
    return bank


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_snapshot_reads_what_is_stored(tmp_path: Path, bridge: Bridge) -> None:
    bank = await filled(tmp_path / "bank.db", bridge)
    try:
        snap = await bank.snapshot(limit=2)
        assert (snap.balance, snap.opening_balance) == (35_000, 50_000)
        assert (snap.ledger_count, snap.key_count, snap.delivery_count) == (3, 3, 6)
        assert [row[1] for row in snap.ledger] == ["T125", "T124"]  # newest first, limited
        assert [(k.key, k.hits, k.deliveries, k.debits) for k in snap.keys] == [
            ("T125", 3, 3, 1),
            ("T124", 1, 1, 1),
        ]
        assert [d[1:4] for d in snap.deliveries] == [("T125", 3, "replayed"), ("T125", 2, "replayed")]
        assert await bank.balance() == 35_000
        assert await bank.resume_point() == (1253, 125)
        assert await bank.synchronous() == "normal"
    finally:
        await bank.close()


async def test_both_bridges_store_the_same_rows(tmp_path: Path) -> None:
    for bridge in BRIDGES:
        await (await filled(tmp_path / f"{bridge}.db", bridge)).close()
    for table in ("accounts", "ledger", "idempotency_keys", "deliveries"):
        sql = f"SELECT * FROM {table} ORDER BY rowid"
        assert query(str(tmp_path / "inline.db"), sql) == query(str(tmp_path / "aiosqlite.db"), sql), table


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_reset_empties_the_tables_and_reopens_the_account(tmp_path: Path, bridge: Bridge) -> None:
    bank = await filled(tmp_path / "bank.db", bridge)
    try:
        await bank.reset(opening_balance=80_000)
        snap = await bank.snapshot()
        counts = (snap.ledger_count, snap.key_count, snap.delivery_count)
        assert (snap.balance, snap.opening_balance, counts) == (80_000, 80_000, (0, 0, 0))
        assert await bank.resume_point() == (0, 0)
    finally:
        await bank.close()


@pytest.mark.parametrize("bridge", BRIDGES)
async def test_synchronous_full_is_used_when_asked(tmp_path: Path, bridge: Bridge) -> None:
    bank = await Bank(StoreConfig(str(tmp_path / "bank.db"), synchronous="full"), bridge=bridge).open()
    try:
        assert await bank.synchronous() == "full"
    finally:
        await bank.close()


async def test_a_closed_bank_says_so(tmp_path: Path) -> None:
    bank = await Bank(StoreConfig(str(tmp_path / "bank.db"))).open()
    await bank.close()
    with pytest.raises(StoreError, match="closed"):
        await bank.balance()
