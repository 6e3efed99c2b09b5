"""Every scenario, every step: the labels on screen say what the trace of that step says.

The trace comes from the same scenario played headless (same seed, byte-identical events), so
the check is independent of the app: the app's screen against the engine's own record.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte
import pytest
from profiles import tiered
from textual.widgets import Static
from ui_helpers import make_app

from atm_tui.scenarios import load, load_all
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.sim.events import (
    Crashed,
    Declined,
    Delivered,
    Dropped,
    Event,
    Finished,
    InProgress,
    KeyExpired,
    Processed,
    Rejected,
    Replayed,
    Replied,
    ReplyDelivered,
    Requested,
    RolledBack,
)
from atm_tui.ui.app import AtmApp
from atm_tui.ui.capture.frames import FRAME_SIZE, capture, screen_of
from atm_tui.ui.models.pipeline_model import PipelineModel
from atm_tui.ui.widgets.diagram import SequenceDiagram

ALL_SCENARIOS = [s.name for s in load_all()]
ATM_SCENARIOS = [s.name for s in load_all() if s.kind == "atm"]

# The words a reply's status must be drawn with (and the ones it must never be drawn with).
EXPECTED = {
    ("approved", False): "✓ fresh",
    ("in_progress", False): "⧖ busy",
    ("rejected", False): "✗ rejected",
    ("declined", False): "✗ declined",
}


# What ends one arrival of a write: its transaction's outcome, or the crash that rolled it back.
HANDLED = (Processed, Replayed, InProgress, Rejected, Declined, RolledBack, Crashed)


def reply_words(ev: Replied | ReplyDelivered) -> str:
    if ev.op in ("balance", "status"):
        return "= read"
    if ev.replayed:
        return "↺ replay"
    return EXPECTED[(ev.status, False)]


async def headless_trace(name: str, folder: Path) -> list[list[Event]]:
    """The events of each step, from the scenario played without the app."""
    steps: list[list[Event]] = []
    async with ScenarioPlayer(load(name), str(folder / "headless.db")) as player:
        while not player.done:
            start = len(player.events)
            await player.next()
            steps.append(list(player.events[start:]))
    return steps


def text(app: AtmApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def check_step(app: AtmApp, name: str, k: int, events: list[Event], before: list[Event], db: Path) -> None:
    where = f"{name} step {k}"
    diagram = str(app.query_one(SequenceDiagram).render())
    # The newest replies of the step are on screen, each in the words of its status, or lost.
    shown: list[str] = []
    for i, ev in enumerate(events):
        if isinstance(ev, Replied):
            lost = any(
                isinstance(d, Dropped)
                and d.direction == "reply"
                and (d.txn_id, d.attempt) == (ev.txn_id, ev.attempt)
                for d in events[i + 1 :]
            )
            shown.append("✕ LOST" if lost else reply_words(ev))
    for words in shown[-3:]:
        assert words in diagram, (where, words, diagram)
    for ev in events:
        if isinstance(ev, KeyExpired):
            assert f"⧗ {ev.txn_id} key expired" in diagram, (where, diagram)
    # The receipt and the belief list: what the ATM acted on, as the trace has it.
    trace = before + events
    current = next(
        (
            ev.txn_id
            for ev in reversed(trace)
            if isinstance(ev, Requested) and ev.op not in ("balance", "status")
        ),
        None,
    )
    if current is None:
        return
    beliefs = text(app, "#atm-beliefs")
    receipt = text(app, "#atm-receipt")
    first_reply: dict[int, ReplyDelivered] = {}
    acted: ReplyDelivered | None = None
    finished: Finished | None = None
    latest: ReplyDelivered | None = None
    # Only the current request: a label can be used again (a second vote by the same voter).
    start = max(
        i
        for i, ev in enumerate(trace)
        if isinstance(ev, Requested) and ev.txn_id == current and ev.op not in ("balance", "status")
    )
    for ev in trace[start:]:
        if isinstance(ev, ReplyDelivered) and ev.txn_id == current and ev.op not in ("balance", "status"):
            first_reply.setdefault(ev.attempt, ev)
            if finished is None or finished.outcome == "unknown":
                latest = ev  # a reply after an unknown outcome (r resent it) is acted on
        if isinstance(ev, Finished) and ev.txn_id == current:
            finished, acted = ev, latest
    for attempt, ev in first_reply.items():
        line = next((ln for ln in beliefs.splitlines() if ln.startswith(f"#{attempt} ")), None)
        if line is not None:
            assert line.startswith(f"#{attempt} answered {reply_words(ev)}"), (where, line, ev)
    if finished is not None:
        assert f"outcome: {finished.outcome}" in receipt, (where, receipt)
        if finished.outcome == "unknown":
            busy = acted is not None and acted.status == "in_progress"
            expected = "reply: ⧖ busy only, no final answer" if busy else "reply: none arrived"
            assert expected in receipt, (where, receipt)
        else:
            assert acted is not None
            words = "↺ replayed" if acted.replayed else reply_words(acted)
            assert f"reply: {words}" in receipt, (where, receipt, acted)
    else:
        assert "no receipt yet" in receipt or current not in receipt.split("\n")[0], (where, receipt)
    # The bank pane lists the tables the operations write to, with their row counts.
    bank = "\n".join(str(w.render()) for w in app.query_one("#bank").query(Static))
    conn = sqlite3.connect(str(db))
    try:
        # The counters count arrivals (the trace's); the bank pane counts what the file recorded
        # (an arrival still in processing, or lost in a crash, is not recorded yet or ever).
        # An arrival a crash rolled back is said to be so, and not counted as arrived.
        writes = ("balance", "status")
        arrived = sum(1 for ev in trace if isinstance(ev, Delivered) and ev.op not in writes)
        rolled = sum(1 for ev in trace if isinstance(ev, RolledBack) and ev.op not in writes)
        counters = text(app, "#counters")
        assert f"arrived {arrived - rolled} " in counters, (where, counters)
        if rolled:
            assert f"{rolled} more rolled back" in counters, (where, counters)
        recorded = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        assert f"Deliveries: {recorded}" in bank, (where, bank)
        # Every arrival handled (not one still inside the bank's transaction): counters = file.
        handled = sum(1 for ev in trace if isinstance(ev, HANDLED) and ev.txn_id)
        assert arrived - rolled - (arrived - handled) == recorded, (where, counters, recorded)
        for table in ("payments", "orders", "ballots"):
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if n:
                assert f"{table.capitalize()}: {n} row" in bank, (where, bank)
    finally:
        conn.close()


async def still(app: AtmApp, pilot: Any, key: str) -> str:
    """Press `key` (→ or ←), let the step end and the bank reads land, and read the screen."""
    await pilot.press(key)
    await app.workers.wait_for_complete()
    await app.settle(60)
    await pilot.pause()
    return screen_of(app).text()


def cast_screens(cast: Path) -> list[str]:
    """The cast played through pyte (a real terminal emulator): the screen after each frame."""
    lines = cast.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    shown = []
    for line in lines[1:]:
        time, kind, data = json.loads(line)
        if kind != "o":
            continue
        stream.feed(data)
        if "\x1b[1;1H" in data:  # a whole frame was drawn from the top left
            shown.append("\n".join(row.rstrip() for row in screen.display))
    return shown


@pytest.mark.parametrize("name", tiered(ALL_SCENARIOS))  # --fast: t123 and kafka
async def test_every_step_says_what_its_trace_says(
    name: str, tmp_path: Path, exported: Callable[[str], Path]
) -> None:
    """One app per scenario: forward, every step checked against its trace and the file; then
    back, every step's screen the same as forward; then the export's still of the last step, and
    every step of the exported cast played in a terminal emulator, the same as forward."""
    steps = await headless_trace(name, tmp_path)
    # Labelled as the export labels its file, so the two screens can be compared line by line.
    app = make_app(tmp_path, scenario=name, scenario_dir=str(tmp_path), no_animation=True,
                   shown_db=f"scenarios/{name}.db")
    forward: list[str] = []
    async with app.run_test(size=FRAME_SIZE) as pilot:
        await app.workers.wait_for_complete()
        await app.settle(0)
        await pilot.pause()
        forward.append(screen_of(app).text())
        before: list[Event] = []
        for k, events in enumerate(steps, start=1):
            forward.append(await still(app, pilot, "right"))
            if name in ATM_SCENARIOS:  # a pipeline scenario's counts: the headless test below
                check_step(app, name, k, events, before, tmp_path / f"{name}.db")
            before += events
        # Going back to step k shows what going forward to step k showed, line for line.
        for k in range(len(steps) - 1, -1, -1):
            back = await still(app, pilot, "left")
            assert_same_screen(forward[k], back, f"{name} step {k}: forward vs back")
    # The export's still (the SVG/PNG frame and the cast draw this capture) of the last step.
    async with ScenarioPlayer(load(name), str(tmp_path / "export.db")) as player:
        await player.goto(len(steps))
        last_still = (await capture(player)).text()
    assert_same_screen(forward[-1], last_still, f"{name} step {len(steps)}: app vs export")
    # The cast of the default export: one frame per step (step 0 first), each the screen forward.
    folder = await asyncio.to_thread(exported, name)  # the fixture runs `atm-tui export` (its own loop)
    cast = cast_screens(folder / f"{name}.cast")
    assert len(cast) == len(forward), (name, len(cast), len(forward))
    for k, (live, played) in enumerate(zip(forward, cast, strict=True)):
        live = "\n".join(row.rstrip() for row in live.splitlines())
        assert_same_screen(live, played, f"{name} step {k}: app vs cast")


# Lines that name the run's own file or wall time, which differ between two runs by design.
VOLATILE = re.compile(r"scenarios/\S+\.db|db: \S+|\d+:\d+:\d+")


def assert_same_screen(expected: str, got: str, where: str) -> None:
    a = [re.sub(r" +", " ", VOLATILE.sub("…", line)) for line in expected.splitlines()]
    b = [re.sub(r" +", " ", VOLATILE.sub("…", line)) for line in got.splitlines()]
    diff = [f"{i:2} {x!r}\n   {y!r}" for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    assert a == b, where + "\n" + "\n".join(diff[:12])


PIPELINE_SCENARIOS = [s.name for s in load_all() if s.kind == "pipeline"]


@pytest.mark.parametrize("name", PIPELINE_SCENARIOS)
async def test_pipeline_deliveries_agree_with_the_file_at_every_step(name: str, tmp_path: Path) -> None:
    """The pipeline pane's 'delivered N' is the file's deliveries rows: a crash's loss is rolled back."""
    db = tmp_path / "pipe.db"
    model = PipelineModel()
    async with ScenarioPlayer(load(name), str(db)) as player:
        player.subscribe(model)
        while not player.done:
            await player.next()
            conn = sqlite3.connect(str(db))
            try:
                rows = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
            finally:
                conn.close()
            rolled = sum(1 for ev in player.events if isinstance(ev, RolledBack))
            assert model.counts["deliveries"] == rows, (name, player.position, model.counts, rows)
            assert model.counts["rolled_back"] == rolled, (name, player.position)
            if rolled:
                assert any("rolled back" in line.text for line in model.lines), name
