"""The scenario files ship inside the package and its wheel (the layer rule itself is in test_layers.py)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from engine_helpers import ROOT

import atm_tui
from atm_tui.scenarios import builtin_names
from atm_tui.scenarios.loader import in_lesson_order

PACKAGE = Path(atm_tui.__file__).parent


def test_scenario_files_ship_inside_the_package() -> None:
    from importlib import resources

    files = {p.name for p in resources.files("atm_tui.scenarios").joinpath("data").iterdir()}
    assert {"t123.toml", "crash-gap.toml"} <= files


@pytest.mark.slow
def test_the_wheel_carries_every_scenario_file(tmp_path: Path) -> None:
    # The real build (pip and the pyproject's build backend), as `pip install atm-tui` would run it.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("atm_tui-*.whl")
    shipped = {f"atm_tui/scenarios/data/{p.name}" for p in (PACKAGE / "scenarios" / "data").glob("*.toml")}
    assert len(shipped) == len(builtin_names()) >= 16
    with zipfile.ZipFile(wheel) as whl:
        assert shipped <= set(whl.namelist())
        # The same stories in the same lesson order, read from inside the wheel.
        data = zipfile.Path(whl, "atm_tui/scenarios/data/")
        assert in_lesson_order(data, "wheel") == builtin_names()
