"""A headless run: N customers, one after another, at one ATM; then the report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from atm_tui.bank import queries
from atm_tui.bank.service import Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Event, Finished
from atm_tui.sim.report import Report, Tally, check_database
from atm_tui.sim.trace_file import AtomicTrace, TraceWriter


@dataclass(slots=True)
class RunOptions:
    withdrawals: int = 1
    drop_next_replies: int = 0
    drop_next_requests: int = 0
    duplicate_next_requests: int = 0
    crash_in_gap: int = 0
    hard_crash: bool = False
    first_id: int | None = None
    trace: str | None = None
    bridge: Bridge = "inline"


@dataclass(slots=True)
class RunResult:
    report: Report
    synchronous: str
    elapsed: float
    last_txn: str
    start_time: int
    end_time: int

    def to_dict(self) -> dict[str, Any]:
        out = self.report.to_dict()
        deliveries = self.report.counts["deliveries"]
        out.update(
            {
                "synchronous": self.synchronous,
                "elapsed_seconds": round(self.elapsed, 6),
                "deliveries_per_second": round(deliveries / self.elapsed, 1) if self.elapsed > 0 else 0.0,
                "virtual_ms": self.end_time - self.start_time,
            }
        )
        return out


async def simulate(config: SimConfig, store: StoreConfig, options: RunOptions) -> RunResult:
    engine = await Engine.open(config, store, bridge=options.bridge, claim=options.withdrawals)
    try:
        if options.first_id is not None:
            engine.atm.next_number = options.first_id
        tally = Tally()
        engine.world.subscribe(tally)
        trace = AtomicTrace(options.trace, store.path) if options.trace else None
        fh = trace.__enter__() if trace is not None else None
        failed: BaseException | None = None
        try:
            if fh is not None:
                engine.world.subscribe(TraceWriter(fh))
            remaining = options.withdrawals
            amount = config.amount

            def next_customer(ev: Event) -> None:
                nonlocal remaining
                if isinstance(ev, Finished) and remaining > 0 and ev.txn_id == engine.atm.last_txn_id:
                    remaining -= 1
                    engine.world.at(engine.world.now, engine.withdraw, amount)

            engine.world.subscribe(next_customer)
            if options.drop_next_replies:
                engine.drop_next_replies(options.drop_next_replies)
            if options.drop_next_requests:
                engine.drop_next_requests(options.drop_next_requests)
            if options.duplicate_next_requests:
                engine.duplicate_next_requests(options.duplicate_next_requests)
            if options.crash_in_gap:
                engine.crash_in_gap(options.crash_in_gap, hard=options.hard_crash)
            start_time = engine.now
            started = time.perf_counter()
            if remaining > 0:
                remaining -= 1
                engine.withdraw(amount)
            await engine.run_until_idle()
            elapsed = time.perf_counter() - started
        except BaseException as exc:
            failed = exc
            raise
        finally:
            if trace is not None:  # renamed into place only when the run ended well
                trace.__exit__(type(failed) if failed else None, failed, None)
        before = await engine.bank.run(queries.balance_since, engine.bank.account_id, start_time)
        opening, balance, rows, checks = await engine.bank.run(
            check_database,
            engine.bank.account_id,
            tally.dispensed,
            tally.expected_bodies,
            tally.replay_mismatches,
            config.atm.client,
        )
        report = Report(tally.counts, before, balance, opening, rows, checks)
        sync = await engine.bank.synchronous()
        last = engine.atm.last.txn_id if engine.atm.last else ""
        return RunResult(report, sync, elapsed, last, start_time, engine.now)
    finally:
        await engine.close()
