"""The plain-text frame (`--frames txt`): the caption, the counter, what is stored, the step's events."""

from __future__ import annotations

import textwrap
from typing import Any

from atm_tui.bank.money import rupees
from atm_tui.scenarios.export_formats import FrameFormat, FrameOptions, register_frame_format
from atm_tui.scenarios.export_state import state_of
from atm_tui.scenarios.player import STEP_CONTROL, ScenarioPlayer
from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline.pipeline import NO_PRODUCER


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s"


def _describe(ev: Event) -> str:
    data = ev.to_dict()
    skip = {"t", "kind", "txn_id", "attempt", "body"}
    extra = " ".join(f"{k}={v}" for k, v in data.items() if k not in skip)
    who = f"{ev.txn_id}#{ev.attempt}" if ev.txn_id else ""
    return " ".join(p for p in (f"{_seconds(ev.t):>8}", f"{ev.kind:<15}", who, extra) if p).rstrip()


def _balance_line(s: dict[str, Any]) -> str:
    return f"Balance  {rupees(s['balance'])} (opening {rupees(s['opening_balance'])})"


def _stored_lines(s: dict[str, Any]) -> list[str]:
    """The bank's tables both kinds of scenario share: the ledger, the keys, the deliveries."""
    lines = [f"Ledger   {len(s['ledger'])} row(s)"]
    for r in s["ledger"]:
        lines.append(
            f"  #{r['id']:<3} {r['txn_id']:<12} {r['operation']:<9} {rupees(r['amount']):>12}"
            f"  -> {rupees(r['balance_after']):>12}  at {_seconds(r['at'])}"
        )
    lines.append(f"Keys     {len(s['keys'])}")
    for k in s["keys"]:
        lines.append(f"  {k['key']:<12} {k['status']:<9} hits {k['hits']}")
    lines.append("Deliveries")
    for key, counts in s["deliveries"].items():
        shown = ", ".join(f"{o} {n}" for o, n in counts.items())
        lines.append(f"  {key:<12} {shown}")
    return lines


def _pipeline_lines(player: ScenarioPlayer, s: dict[str, Any]) -> list[str]:
    """The pipeline's part of a frame: the log, the consumer, charges per message, the ledger."""
    pipeline = player.pipeline
    assert pipeline is not None
    p = s["pipeline"]
    view = pipeline.view()
    pid = view.producer_id
    producer = (
        f"idempotent, id {pid} epoch {view.producer_epoch}" if pid != NO_PRODUCER else "not idempotent"
    )
    lines = [_balance_line(s)]
    lines.append(f"Producer {producer}; awaiting an ack: " + (
        ", ".join(f"{m}#{a}" for m, _, a in view.in_flight) or "none"))  # fmt: skip
    for part, records in enumerate(view.log):
        committed = p["committed_offsets"].get(str(part), 0)
        lines.append(f"Log      partition {part}: {len(records)} record(s), committed offset {committed}")
        for r in records:
            who = f"producer {r.producer_id} epoch {r.epoch} seq {r.seq}"
            if r.seq == NO_PRODUCER:
                who = "no producer id, no seq"
            # At or past the committed offset: a restarted consumer reads it (again).
            mark = "  (not committed)" if r.offset >= committed else ""
            lines.append(f"  @{r.offset:<3} {r.message_id:<8} {who}{mark}")
    position = "-" if view.positions is None else ", ".join(str(x) for x in view.positions)
    hand = f"{view.in_hand.message_id}@{view.in_hand.offset}" if view.in_hand else "-"
    epoch = "-" if view.epoch is None else str(view.epoch)
    lines.append(
        f"Consumer {p['consumer']}, {view.consumer_state}, epoch {epoch}, position {position}, in hand {hand}"
    )
    lines.append(
        "Charges  " + (", ".join(f"{m} x{n}" for m, n in p["charges_per_message"].items()) or "none")
    )
    if p["double_charged"]:
        lines.append("Charged more than once: " + ", ".join(p["double_charged"]))
    return lines + _stored_lines(s)


async def render_text(player: ScenarioPlayer, width: int = 100) -> str:
    """A plain-text frame: the caption, the counter, what is stored, and this step's events."""
    s = await state_of(player)
    sc = player.scenario
    mode = f"consumer {s['mode']}" if player.pipeline is not None else f"mode {s['mode']}"
    lines = [f"{sc.title}", f"{player.counter}  |  t = {_seconds(s['now'])}  |  {mode}", ""]
    lines += textwrap.wrap(player.caption, width) or [""]
    if player.pipeline is not None:
        lines += ["", *_pipeline_lines(player, s)]
        return _with_step_events(player, lines)
    lines += ["", _balance_line(s), *_stored_lines(s)]
    for table, fields in (("payments", ("key", "amount", "keyed")), ("orders", ("order_id", "item")),
                          ("ballots", ("voter_id", "choice"))):  # fmt: skip
        if s[table]:
            lines.append(f"{table.capitalize():<9}{len(s[table])}")
            for row in s[table]:
                lines.append("  " + "  ".join(f"{f}={row[f]}" for f in fields))
    if s["outcomes"]:
        lines.append("Client   " + ", ".join(f"{k} {v}" for k, v in s["outcomes"].items()))
    return _with_step_events(player, lines)


def _with_step_events(player: ScenarioPlayer, lines: list[str]) -> str:
    shown = player.events[player.step_events[-1]:] if player.playing else player.events_of_step()
    step_events = [
        ev for ev in shown
        if not (isinstance(ev, Control) and ev.name == STEP_CONTROL)
    ]  # fmt: skip
    lines += ["", f"Events of this step ({len(step_events)})"]
    lines += [f"  {_describe(ev)}" for ev in step_events]
    return "\n".join(lines) + "\n"


async def _text_frame(player: ScenarioPlayer, options: FrameOptions) -> str:
    return await render_text(player)


register_frame_format(FrameFormat("txt", _text_frame, "plain text: caption, stored state, the step's events"))
