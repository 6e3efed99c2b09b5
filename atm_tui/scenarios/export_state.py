"""The final state of an exported run, read back from SQLite: summary.json and what frames show."""

from __future__ import annotations

from typing import Any

from atm_tui.bank import pipeline_store
from atm_tui.bank.queries import read_state
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.sim.events import Event, Finished
from atm_tui.sim.pipeline.pipeline import Pipeline
from atm_tui.sim.pipeline.report import PipelineTally, check_pipeline


def outcomes(events: list[Event]) -> dict[str, str]:
    """What the client finally knew about each request (the last outcome per id)."""
    out: dict[str, str] = {}
    for ev in events:
        if isinstance(ev, Finished):
            out[ev.txn_id] = ev.outcome
    return out


async def pipeline_state(pipeline: Pipeline, events: list[Event]) -> dict[str, Any]:
    """The pipeline's figures: the log, charges per message, committed offsets, the invariants."""
    cfg, bank = pipeline.config, pipeline.bank
    log = pipeline.broker.log
    balance, rows, doubles, dup_appends, checks = await bank.run(
        check_pipeline, bank.account_id, cfg.group, cfg.topic, log, cfg.producer_idempotent
    )
    ids = list(dict.fromkeys(r.message_id for part in log for r in part))
    charges = await bank.run(pipeline_store.charge_counts, bank.account_id, ids)
    offsets = await bank.run(pipeline_store.read_offsets, cfg.group, cfg.topic)
    epoch = await bank.run(pipeline_store.read_group_epoch, cfg.group)
    tally = PipelineTally()
    for ev in events:
        tally(ev)
    counts = dict(tally.counts, double_charges=len(doubles), duplicate_appends=len(dup_appends))
    view = pipeline.view()
    return {
        "consumer": cfg.consumer,
        "consumer_state": view.consumer_state,
        "producer_idempotent": cfg.producer_idempotent,
        "counts": counts,
        "charges_per_message": charges,
        "charge_rows": rows,
        "double_charged": doubles,
        "duplicate_appends": dup_appends,
        "committed_offsets": {str(p): offsets.get(p, (0, 0))[0] for p in range(cfg.partitions)},
        "group_epoch": epoch,
        "log": [
            [
                {"offset": r.offset, "message_id": r.message_id, "producer_id": r.producer_id,
                 "epoch": r.epoch, "seq": r.seq, "t": r.t}
                for r in part
            ]
            for part in log
        ],  # fmt: skip
        "balance": balance,
        "invariants": {i.name: {"ok": i.ok, "detail": i.detail} for i in checks},
    }


async def state_of(player: ScenarioPlayer) -> dict[str, Any]:
    pipeline = player.pipeline
    if pipeline is not None:
        bank, now = pipeline.bank, pipeline.now
    elif player.engine is not None:
        bank, now = player.engine.bank, player.engine.now
    else:
        raise RuntimeError("the scenario player is not open")
    state: dict[str, Any] = await bank.run(read_state, bank.account_id)
    state["mode"] = pipeline.config.consumer if pipeline is not None else bank.mode
    state["now"] = now
    state["outcomes"] = outcomes(player.events)
    if pipeline is not None:
        state["pipeline"] = await pipeline_state(pipeline, player.events)
    return state


async def summary(player: ScenarioPlayer) -> dict[str, Any]:
    state = await state_of(player)
    sc = player.scenario
    head: dict[str, Any] = {"kind": sc.kind} if sc.kind != "atm" else {}
    return {
        "scenario": sc.name,
        "title": sc.title,
        **head,
        "seed": player.seed,
        "steps": player.total,
        "steps_played": player.position,
        "virtual_ms": state.pop("now"),
        "events": len(player.events),
        **state,
    }
