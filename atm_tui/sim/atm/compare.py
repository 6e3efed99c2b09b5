"""Compare mode's naive twin: a second bank on its own SQLite file, fed the very same deliveries.

The twin never answers the ATM. It only shows what the same network would have cost a bank that
debits on every delivery, so the idempotent bank and the naive one can be read side by side.
"""

from __future__ import annotations

from pathlib import Path

from atm_tui.bank.core import Withdrawal
from atm_tui.bank.service import Bank, BankSnapshot, Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.events import Twin
from atm_tui.sim.world import World


def twin_path(path: str) -> str:
    """The twin's file sits next to the bank's: bank.db -> bank-naive.db."""
    if path == ":memory:":
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}-naive{p.suffix or '.db'}"))


class NaiveTwin:
    """A bank that is always naive. `deliver` applies one withdrawal delivery and emits a Twin event."""

    def __init__(self, store: StoreConfig, *, bridge: Bridge = "inline") -> None:
        self.bank = Bank(store, mode="naive", ttl=1, bridge=bridge)

    @property
    def path(self) -> str:
        return self.bank.config.path

    async def open(self) -> NaiveTwin:
        await self.bank.open()
        return self

    async def close(self) -> None:
        await self.bank.close()

    async def deliver(self, req: Withdrawal, world: World) -> None:
        # Naive whatever the main bank's mode is: that is the point of the comparison.
        self.bank.mode = "naive"
        resp = await self.bank.withdraw(req, world.now)
        after = resp.balance_after or 0
        world.emit(Twin(world.now, req.txn_id, req.attempt, resp.outcome, req.amount, after))

    async def snapshot(self, limit: int = 50) -> BankSnapshot:
        return await self.bank.snapshot(limit)

    async def reset(self, opening_balance: int | None = None) -> None:
        await self.bank.reset(opening_balance)
