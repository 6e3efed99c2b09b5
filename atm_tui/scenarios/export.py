"""Headless export of a scenario: the full trace, a summary of the final state, one frame per step.

Frames come from a pluggable renderer chosen by file extension. The plain-text renderer lives
here; the app registers an SVG one (a screenshot of the real screen) with `register_frame_format`.
Everything is built in memory first and written only once the whole run succeeded.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atm_tui.bank import pipeline_store
from atm_tui.bank.money import rupees
from atm_tui.bank.queries import read_state
from atm_tui.paths import quoted
from atm_tui.scenarios.player import STEP_CONTROL, ScenarioPlayer
from atm_tui.scenarios.recording import asciicast, keys_vtt, webvtt
from atm_tui.scenarios.scenario import Scenario
from atm_tui.scenarios.subtitles import subtitles
from atm_tui.scenarios.timing import timeline
from atm_tui.sim.events import Control, Event, Finished
from atm_tui.sim.pipeline.pipeline import NO_PRODUCER, Pipeline
from atm_tui.sim.pipeline.report import PipelineTally, check_pipeline

CAPTIONS = ("both", "burned", "vtt")


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """How frames are drawn and what goes with them.

    size: picture size in pixels (PNG); clean: the recording look (no key bar); captions: "burned"
    draws the caption in the frame and writes no captions.vtt, "vtt" writes captions.vtt and
    leaves it out of the frame (so a frame never repeats its subtitle), "both" does both;
    starts: a still at the start of each step (frame-NNN-start) as well as at its end;
    video: also NAME.mp4, the PNG frames at autoplay's timing (video.py).
    """

    size: tuple[int, int] = (1920, 1080)
    clean: bool = False
    captions: str = "both"
    starts: bool = False
    video: bool = False

    @property
    def burned(self) -> bool:
        return self.captions != "vtt"


Renderer = Callable[[ScenarioPlayer, FrameOptions], Awaitable[str | bytes]]


class ExportError(Exception):
    """The export could not be written; the message is one line naming the path."""


@dataclass(frozen=True, slots=True)
class FrameFormat:
    extension: str
    render: Renderer
    description: str
    title: bool = False  # a title frame (frame-000: before step 1) comes first


FRAME_FORMATS: dict[str, FrameFormat] = {}


def register_frame_format(fmt: FrameFormat) -> None:
    """Make `--frames EXT` available (the app adds "svg": screenshots of the real screen)."""
    FRAME_FORMATS[fmt.extension] = fmt


# The app's screen as terminal output, for the asciicast (the UI registers it; headless: none).
Screen = Callable[[ScenarioPlayer, FrameOptions], Awaitable[str]]
SCREENS: list[tuple[Screen, tuple[int, int]]] = []


def register_screen(render: Screen, size: tuple[int, int]) -> None:
    SCREENS[:] = [(render, size)]


# What keeps the app's screen running for one export, so frames follow the player step by step
# instead of starting an app per step (the UI registers it; headless: none).
Filming = Callable[[ScenarioPlayer], AbstractAsyncContextManager[object]]
FILMING: list[Filming] = []


def register_filming(filming: Filming) -> None:
    FILMING[:] = [filming]


# -- reading the final state back from SQLite ---------------------------------------------------


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


# -- the plain-text frame ----------------------------------------------------------------------


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f} s"


def _describe(ev: Event) -> str:
    data = ev.to_dict()
    skip = {"t", "kind", "txn_id", "attempt", "body"}
    extra = " ".join(f"{k}={v}" for k, v in data.items() if k not in skip)
    who = f"{ev.txn_id}#{ev.attempt}" if ev.txn_id else ""
    return " ".join(p for p in (f"{_seconds(ev.t):>8}", f"{ev.kind:<15}", who, extra) if p).rstrip()


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
    lines = [f"Balance  {rupees(s['balance'])} (opening {rupees(s['opening_balance'])})"]
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
    lines.append(f"Ledger   {len(s['ledger'])} row(s)")
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
    lines += ["", f"Balance  {rupees(s['balance'])} (opening {rupees(s['opening_balance'])})"]
    lines.append(f"Ledger   {len(s['ledger'])} row(s)")
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


# -- the export --------------------------------------------------------------------------------


def check_out_dir(out: str) -> Path:
    """Validate --out before running anything; ExportError names the path and the fix.

    The folder and any missing parents are created at write time (as `mkdir -p`); here the
    nearest folder that exists must be writable, and nothing on the way may be a file.
    """
    if out == "":
        raise ExportError("--out '': empty; give a folder (it is created if missing)")
    shown = quoted(out)
    try:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise ExportError(f"--out {shown}: is a file; give a folder (it is created if missing)")
        existing = path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ExportError(
                f"--out {shown}: {quoted(existing)} is a file, not a folder; pick another path"
            )
        mode = existing.stat().st_mode
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ExportError(f"--out {shown}: cannot use that path ({reason}); pick another path") from None
    # Root ignores permission bits, so honour them ourselves: a read-only folder means "do not write".
    if not mode & 0o222 or not os.access(existing, os.W_OK):
        raise ExportError(f"--out {shown}: folder {quoted(existing)} is not writable; pick another path")
    return path


def _bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode()


async def _play(
    player: ScenarioPlayer, fmt: FrameFormat, options: FrameOptions, files: dict[str, bytes],
    screens: dict[int, str],
) -> None:
    """Play every step, putting each frame into `files` and the screen after each step into `screens`."""
    if SCREENS:
        screens[0] = await SCREENS[0][0](player, options)
    if fmt.title:
        files[f"frame-000.{fmt.extension}"] = _bytes(await fmt.render(player, options))
    while True:
        if not await player.begin_step():
            break
        if options.starts:
            # The step's actions are done and no time has passed: its caption, at its start.
            name = f"frame-{player.position + 1:03d}-start.{fmt.extension}"
            files[name] = _bytes(await fmt.render(player, options))
        await player.finish_step()
        name = f"frame-{player.position:03d}.{fmt.extension}"
        files[name] = _bytes(await fmt.render(player, options))
        if SCREENS:
            screens[player.position] = await SCREENS[0][0](player, options)


async def build(
    scenario: Scenario,
    seed: int | None = None,
    frames: str = "txt",
    db_path: str | None = None,
    options: FrameOptions | None = None,
) -> dict[str, bytes]:
    """Play the whole scenario headless; return every file of the export by name."""
    fmt = FRAME_FORMATS[frames]
    options = options or FrameOptions()
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="atm-tui-export-") as tmp:
        player = ScenarioPlayer(scenario, db_path or str(Path(tmp) / "bank.db"), seed=seed)
        await player.open()
        screens: dict[int, str] = {}
        try:
            async with AsyncExitStack() as filming:
                for film in FILMING:
                    await filming.enter_async_context(film(player))
                await _play(player, fmt, options, files, screens)
            files["summary.json"] = (
                json.dumps(await summary(player), indent=2, sort_keys=True) + "\n"
            ).encode()
            files["events.jsonl"] = "".join(ev.to_json() + "\n" for ev in player.events).encode()
            cues = timeline(scenario)
            if options.captions != "burned":
                files["captions.vtt"] = webvtt(subtitles(cues), scenario.title).encode()
            files["keys.vtt"] = keys_vtt(cues, scenario).encode()
            if options.video:
                from atm_tui.scenarios.video import VideoError, encode_mp4

                names = [f"frame-{k:03d}.{fmt.extension}" for k in range(player.total + 1)]
                try:
                    files[f"{scenario.name}.mp4"] = encode_mp4(files, names, cues)
                except VideoError as exc:
                    raise ExportError(str(exc)) from None
            if SCREENS:
                cast = asciicast(cues, screens, SCREENS[0][1], f"atm-tui {scenario.name}: {scenario.title}")
                files[f"{scenario.name}.cast"] = cast.encode()
        finally:
            await player.close()
    return files


def write(out: Path, files: dict[str, bytes]) -> None:
    """Write the files into `out` (created if missing); stale frames and casts of an earlier export go."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        frame = re.compile(r"^(frame-\d{3}(-start)?\.[a-z]+|[^/]+\.(cast|vtt|mp4))$")
        for old in out.iterdir():
            if frame.match(old.name) and old.name not in files:
                old.unlink()
        for name, data in files.items():
            tmp = out / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, out / name)
    except OSError as exc:
        raise ExportError(f"--out {quoted(str(out))}: cannot write there ({exc.strerror or exc})") from None


async def export(
    scenario: Scenario,
    out: str,
    seed: int | None = None,
    frames: str = "txt",
    options: FrameOptions | None = None,
) -> list[str]:
    """Run `scenario` headless and write its export into folder `out`. Returns the file names."""
    path = check_out_dir(out)
    files = await build(scenario, seed, frames, options=options)
    write(path, files)
    return sorted(files)
