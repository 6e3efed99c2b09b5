"""The scenario files ship inside the package (the layer rule itself is in test_layers.py)."""

from __future__ import annotations

from pathlib import Path

import atm_tui

ROOT = Path(atm_tui.__file__).parent


def test_scenario_files_ship_inside_the_package() -> None:
    from importlib import resources

    files = {p.name for p in resources.files("atm_tui.scenarios").iterdir()}
    assert {"t123.toml", "crash-gap.toml"} <= files
