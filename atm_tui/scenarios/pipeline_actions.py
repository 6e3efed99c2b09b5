"""The actions a pipeline scenario step may perform, and how each one drives the log Pipeline.

They are the pipeline's own controls (produce, lose the next acks, crash before the commit,
switch the consumer's mode, ...), so a pipeline scenario is the Kafka half of the lecture in
the order a teacher would press the keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank.pipeline_store import CONSUMER_MODES
from atm_tui.scenarios.actions import MAX_COUNT, MAX_MS, Param
from atm_tui.sim.pipeline.pipeline import Pipeline

PipelineApply = Callable[[Pipeline, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PipelineActionSpec:
    name: str
    help: str
    apply: PipelineApply
    params: dict[str, Param] = field(default_factory=dict)


def _count() -> Param:
    return Param(int, default=1, lo=1, hi=MAX_COUNT)


def _sync(fn: Callable[[Pipeline, dict[str, Any]], object]) -> PipelineApply:
    async def run(pipeline: Pipeline, args: dict[str, Any]) -> None:
        fn(pipeline, args)

    return run


def _produce(pipeline: Pipeline, args: dict[str, Any]) -> None:
    # A scenario's "produce" is a teacher's intent, recorded like the key w: Pipeline.publish.
    pipeline.publish(int(args["count"]))


async def _wait(pipeline: Pipeline, args: dict[str, Any]) -> None:
    await pipeline.advance_to(pipeline.now + int(args["ms"]))


async def _idle(pipeline: Pipeline, args: dict[str, Any]) -> None:
    await pipeline.run_until_idle()


_SPECS = (
    PipelineActionSpec("produce", "the payment service publishes count more charge messages",
                       _sync(_produce), {"count": _count()}),
    PipelineActionSpec("lose_next_acks", "the broker appends, but its next acknowledgement(s) are lost",
                       _sync(lambda p, a: p.lose_next_acks(a["count"])), {"count": _count()}),
    PipelineActionSpec("crash_before_next_commits",
                       "the consumer dies after its next charge(s), before committing the offset",
                       _sync(lambda p, a: p.crash_before_next_commits(a["count"])), {"count": _count()}),
    PipelineActionSpec("crash_consumer", "kill the consumer now, wherever it is",
                       _sync(lambda p, a: p.crash_consumer())),
    PipelineActionSpec("stall_next_consumers",
                       "the consumer freezes before its next commit(s), is replaced, then wakes: a zombie",
                       _sync(lambda p, a: p.stall_next_consumers(a["count"])), {"count": _count()}),
    PipelineActionSpec("restart_producer",
                       "the payment service restarts: a new epoch, unacknowledged messages resent",
                       _sync(lambda p, a: p.restart_producer())),
    PipelineActionSpec("set_consumer_mode", "how the consumer charges: naive, idempotent or transactional",
                       _sync(lambda p, a: p.set_consumer_mode(a["value"])),
                       {"value": Param(str, required=True, choices=CONSUMER_MODES)}),
    PipelineActionSpec("set_producer_idempotent",
                       "producer id, epoch and sequence numbers on or off (from the producer's next start)",
                       _sync(lambda p, a: p.set_producer_idempotent(a["on"])),
                       {"on": Param(bool, required=True)}),
    PipelineActionSpec("wait", "let ms of virtual time pass, running whatever falls due", _wait,
                       {"ms": Param(int, required=True, lo=0, hi=MAX_MS)}),
    PipelineActionSpec("run_until_idle", "run until nothing is scheduled", _idle),
)  # fmt: skip

PIPELINE_ACTIONS: dict[str, PipelineActionSpec] = {spec.name: spec for spec in _SPECS}


async def apply(pipeline: Pipeline, name: str, args: dict[str, Any]) -> None:
    """Perform one validated action on the pipeline (defaults filled in here)."""
    spec = PIPELINE_ACTIONS[name]
    full = {k: p.default for k, p in spec.params.items()}
    full.update(args)
    await spec.apply(pipeline, full)
