"""Headless export of a scenario: the full trace, a summary of the final state, one frame per step.

This module plays the scenario and puts the files together. The rest lives by responsibility:
export_formats (the frame options and formats, and what the UI plugs in: the app's pictures and
the filming that keeps one app running for the whole export), export_state (the final state read
back from SQLite: summary.json), export_text (the plain-text frame), export_folder (--out, checked
before the run and written once it succeeded; the files staged on disk meanwhile), recording,
subtitles and video (the files that go with a video).
"""

from __future__ import annotations

import json
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import atm_tui.scenarios.export_text  # noqa: F401  (registers --frames txt)
from atm_tui.scenarios.export_folder import Staging, check_out_dir, write
from atm_tui.scenarios.export_formats import (
    CAPTIONS,
    FILMING,
    FRAME_FORMATS,
    SCREENS,
    ExportError,
    FrameFormat,
    FrameOptions,
)
from atm_tui.scenarios.export_state import summary
from atm_tui.scenarios.export_text import render_text
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.scenarios.recording import asciicast, keys_vtt, webvtt
from atm_tui.scenarios.scenario import Scenario
from atm_tui.scenarios.subtitles import subtitles
from atm_tui.scenarios.timing import timeline

__all__ = [
    "CAPTIONS", "FRAME_FORMATS", "ExportError", "FrameFormat", "FrameOptions", "Staging", "build",
    "check_out_dir", "export", "render_text", "write",
]  # fmt: skip


async def _play(player: ScenarioPlayer, fmt: FrameFormat, options: FrameOptions, staged: Staging,
                screens: dict[int, str]) -> None:  # fmt: skip
    """Play every step, staging each frame and keeping the screen after each step in `screens`."""
    if SCREENS:
        screens[0] = await SCREENS[0][0](player, options)
    if fmt.title:
        staged.put(f"frame-000.{fmt.extension}", await fmt.render(player, options))
    while True:
        if not await player.begin_step():
            break
        if options.starts:
            # The step's actions are done and no time has passed: its caption, at its start.
            name = f"frame-{player.position + 1:03d}-start.{fmt.extension}"
            staged.put(name, await fmt.render(player, options))
        await player.finish_step()
        staged.put(f"frame-{player.position:03d}.{fmt.extension}", await fmt.render(player, options))
        if SCREENS:
            screens[player.position] = await SCREENS[0][0](player, options)


async def build(
    scenario: Scenario,
    staged: Staging,
    seed: int | None = None,
    frames: str = "txt",
    db_path: str | None = None,
    options: FrameOptions | None = None,
) -> None:
    """Play the whole scenario headless, staging every file of the export in `staged`."""
    fmt = FRAME_FORMATS[frames]
    options = options or FrameOptions()
    with tempfile.TemporaryDirectory(prefix="atm-tui-export-db-") as tmp:
        player = ScenarioPlayer(scenario, db_path or str(Path(tmp) / "bank.db"), seed=seed)
        await player.open()
        screens: dict[int, str] = {}  # the cast's screens: ANSI text, a few kB each
        try:
            async with AsyncExitStack() as filming:
                for film in FILMING:
                    await filming.enter_async_context(film(player))
                await _play(player, fmt, options, staged, screens)
            staged.put("summary.json", json.dumps(await summary(player), indent=2, sort_keys=True) + "\n")
            staged.put("events.jsonl", "".join(ev.to_json() + "\n" for ev in player.events))
        finally:
            await player.close()
    cues = timeline(scenario)
    if options.captions != "burned":
        staged.put("captions.vtt", webvtt(subtitles(cues), scenario.title))
    staged.put("keys.vtt", keys_vtt(cues, scenario))
    if options.video:
        from atm_tui.scenarios.video import VideoError, encode_mp4

        names = [f"frame-{k:03d}.{fmt.extension}" for k in range(player.total + 1)]
        try:
            encode_mp4(staged.folder, names, cues, f"{scenario.name}.mp4")
        except VideoError as exc:
            raise ExportError(str(exc)) from None
        staged.add(f"{scenario.name}.mp4")
    if SCREENS:
        title = f"atm-tui {scenario.name}: {scenario.title}"
        staged.put(f"{scenario.name}.cast", asciicast(cues, screens, SCREENS[0][1], title))


async def export(
    scenario: Scenario,
    out: str,
    seed: int | None = None,
    frames: str = "txt",
    options: FrameOptions | None = None,
) -> list[str]:
    """Run `scenario` headless and write its export into folder `out`. Returns the file names."""
    path = check_out_dir(out)
    with tempfile.TemporaryDirectory(prefix="atm-tui-export-") as tmp:
        staged = Staging(Path(tmp))
        await build(scenario, staged, seed, frames, options=options)
        write(path, staged)
    return sorted(staged.names)
