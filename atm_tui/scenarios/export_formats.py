"""What an export can write and how: the frame options, the frame formats, and what the UI plugs in.

The plain-text frame registers itself here (export_text.py); the app registers the SVG and PNG
frames, the asciicast's screen and the filming that keeps one app running for a whole export
(ui/capture/frames.py), so this package never imports Textual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from atm_tui.scenarios.player import ScenarioPlayer

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
    """Make `--frames EXT` available (the app adds "svg" and "png": pictures of the real screen)."""
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
