"""A headless log-pipeline run: produce N messages, consume them all, report and check."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atm_tui.bank import pipeline_store as store
from atm_tui.bank.service import Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.pipeline.pipeline import Pipeline, PipelineConfig, Record
from atm_tui.sim.pipeline.report import PipelineReport, PipelineTally, check_pipeline
from atm_tui.sim.trace_file import AtomicTrace, TraceWriter


@dataclass(slots=True)
class PipelineResult:
    report: PipelineReport
    synchronous: str
    elapsed: float
    start_time: int
    end_time: int
    log: list[list[Record]]  # the broker's log as the run left it, per partition

    def to_dict(self) -> dict[str, Any]:
        out = self.report.to_dict()
        produced = self.report.counts["produced"]
        out.update(
            {
                "synchronous": self.synchronous,
                "elapsed_seconds": round(self.elapsed, 6),
                "messages_per_second": round(produced / self.elapsed, 1) if self.elapsed > 0 else 0.0,
                "virtual_ms": self.end_time - self.start_time,
            }
        )
        return out


async def simulate_pipeline(
    config: PipelineConfig,
    store_config: StoreConfig,
    *,
    trace: str | None = None,
    bridge: Bridge = "inline",
    pipeline_hook: Callable[[Pipeline], None] | None = None,
) -> PipelineResult:
    """Run `config.messages` messages through the pipeline until nothing is left to do.

    `pipeline_hook(pipeline)`, if given, runs before the start (tests script faults with it).
    """
    pipeline = await Pipeline.open(config, store_config, bridge=bridge)
    try:
        bank = pipeline.bank
        tally = PipelineTally()
        pipeline.subscribe(tally)
        before = await bank.run(store.read_balance, bank.account_id)
        writer = AtomicTrace(trace, store_config.path) if trace else None
        fh = writer.__enter__() if writer is not None else None
        failed: BaseException | None = None
        try:
            if fh is not None:
                pipeline.subscribe(TraceWriter(fh))
            if pipeline_hook is not None:
                pipeline_hook(pipeline)
            start_time = pipeline.now
            started = time.perf_counter()
            pipeline.start()
            await pipeline.run_until_idle()
            elapsed = time.perf_counter() - started
        except BaseException as exc:
            failed = exc
            raise
        finally:
            if writer is not None:  # renamed into place only when the run ended well
                writer.__exit__(type(failed) if failed else None, failed, None)
        balance, rows, doubles, dup_appends, checks = await bank.run(
            check_pipeline,
            bank.account_id,
            config.group,
            config.topic,
            pipeline.broker.log,
            config.producer_idempotent,
        )
        report = PipelineReport(tally.counts, before, balance, rows, doubles, dup_appends, checks)
        sync = await bank.synchronous()
        return PipelineResult(report, sync, elapsed, start_time, pipeline.now, pipeline.broker.log)
    finally:
        await pipeline.close()
