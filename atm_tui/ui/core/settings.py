"""What the app is started with: the bank file, the seed, the speed, the scenario, the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from atm_tui.bank.store import Synchronous

if TYPE_CHECKING:
    from atm_tui.scenarios.player import ScenarioPlayer

STORM_SIZE = 100


@dataclass(slots=True)
class Settings:
    """Everything the app needs to start. Tests pass a fake wall clock and a fixed path to show."""

    db: str
    fresh: bool = False
    seed: int = 0
    opening_balance: int = 50_000
    synchronous: Synchronous = "normal"
    speed: float = 1.0
    amount: int = 5_000
    shown_db: str | None = None
    screenshot_dir: str | None = None
    wall: Callable[[], float] = field(default=time.monotonic)
    tick: float = 1 / 30
    theme: str = "atm"  # themes.DEFAULT's name (themes.py needs Textual; this module does not)
    storm_size: int = STORM_SIZE
    # Presenter mode: a scenario (name or .toml path) played on its own file in scenario_dir.
    scenario: str | None = None
    scenario_seed: int | None = None  # None: the scenario's own seed
    scenario_dir: str | None = None  # default: <data dir>/scenarios
    autoplay: bool = False
    hold: float | None = None  # --hold: seconds every autoplayed step stays; None: timing.py's
    exit_at_end: bool = False  # --exit-at-end: autoplay quits (exit 0) after the last step's hold
    no_animation: bool = False
    player: ScenarioPlayer | None = None  # the export's frames: show this player, do not own it
    captions_in_frame: bool = True  # export --captions vtt: False, the caption is a subtitle instead
    serve: tuple[str, int] | None = None  # --serve: (host, port) of the HTTP bank on the same file
