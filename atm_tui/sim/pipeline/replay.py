"""Replay a log pipeline from its trace: the recorded Control events, applied at their times."""

from __future__ import annotations

from collections.abc import Iterable

from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline.config import FAULTS
from atm_tui.sim.pipeline.pipeline import Pipeline


def apply_control(pipeline: Pipeline, name: str, value: str) -> bool:
    """Do what one recorded Control event says. False for a control that is not the pipeline's."""
    if name == "pipeline":
        pipeline.start(int(value.split()[0]))
    elif name == "produce":
        pipeline.publish(int(value))
    elif name == "lose_next_acks":
        pipeline.lose_next_acks(int(value))
    elif name == "crash_before_next_commits":
        pipeline.crash_before_next_commits(int(value))
    elif name == "stall_next_consumers":
        pipeline.stall_next_consumers(int(value))
    elif name == "crash_consumer":
        pipeline.crash_consumer()
    elif name == "restart_producer":
        pipeline.restart_producer()
    elif name.startswith("rate_") and name[5:] in FAULTS:
        pipeline.set_rate(name[5:], float(value))  # type: ignore[arg-type]
    elif name == "consumer":
        pipeline.set_consumer_mode(value)  # type: ignore[arg-type]
    elif name == "producer_idempotent":
        pipeline.set_producer_idempotent(value == "True")
    else:
        return False
    return True


async def replay(pipeline: Pipeline, events: Iterable[Event]) -> int:
    """Apply the Control events of a recorded run to a new pipeline of the same config and seed.

    Each one runs at its recorded virtual time, after everything due up to that time; then
    the run goes on until nothing is left. Returns how many controls were applied.
    """
    applied = 0
    for ev in events:
        if not isinstance(ev, Control):
            continue
        if ev.t > pipeline.now:
            # As the live clock does: everything due up to the key first. Two keys at one time
            # had nothing run between them, so neither does the replay.
            await pipeline.advance_to(ev.t)
        if apply_control(pipeline, ev.name, ev.value):
            applied += 1
    await pipeline.run_until_idle()
    return applied
