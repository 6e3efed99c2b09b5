"""Export benchmark (run with `python3 dev.py bench -k bench_export`; not part of the default run).

Each export runs in its own process (so peak memory is that export's alone): `atm-tui export
--frames png` of t123, kafka and a generated 100-step scenario, timed, with the peak resident
memory (ru_maxrss). ATM_TUI_BASELINE=DIR[:DIR...] adds older trees (e.g. `git archive COMMIT`
unpacked) to the same run, each export right after this tree's. Targets from the issue: the
cost per step flat, a 100-step export under 150 MiB. Reported, never asserted: only that every
export wrote its frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

# A child: export one scenario with PNG frames, print seconds, peak RSS and the number of frames.
_CHILD = r"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
from atm_tui.scenarios.export import FrameOptions, export
from atm_tui.scenarios.loader import load
import atm_tui.ui.capture.frames  # registers --frames png

names = asyncio.run(export(load(sys.argv[1]), sys.argv[2], None, "png", FrameOptions()))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak, "frames": sum(n.startswith("frame-") for n in names)}))
"""


def generated(path: Path, steps: int) -> Path:
    """An ATM scenario of `steps` steps: withdrawals with lost replies, retries and balance checks."""
    parts = [
        '# Generated for the export benchmark.\ntitle = "A hundred steps"\nsummary = "Many withdrawals."\n'
        "seed = 7\n\n[start]\nopening_balance = 10000000\namount = 100\n"
    ]
    for i in range(steps):
        if i % 3 == 0:
            actions = '[{ do = "drop_next_reply", count = 1 }, "withdraw"]'
        elif i % 3 == 1:
            actions = '["withdraw"]'
        else:
            actions = '["balance"]'
        caption = f"Step {i + 1}: the ATM at work."
        parts.append(f'\n[[steps]]\ncaption = "{caption}"\nactions = {actions}\nwait_ms = 2000\n')
    path.write_text("".join(parts))
    return path


def _export(scenario: str, out: Path, tree: str) -> dict[str, float]:
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = tree
    # In the tree's folder: `python -c` puts the working folder first on sys.path.
    proc = subprocess.run([sys.executable, "-c", _CHILD, scenario, str(out)], capture_output=True, text=True,
                          check=True, env=env, cwd=tree or None)  # fmt: skip
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_bench_export_time_and_peak_memory(tmp_path: Path) -> None:
    hundred = str(generated(tmp_path / "hundred.toml", 100))
    trees = {"this tree": ""}
    for folder in filter(None, os.environ.get("ATM_TUI_BASELINE", "").split(os.pathsep)):
        trees[Path(folder).name] = folder
    print()
    for name in ("t123", "kafka", hundred):
        shown = "100 steps" if name == hundred else name
        for i, (label, tree) in enumerate(trees.items()):  # one tree after the other, scenario by scenario
            r = _export(name, tmp_path / f"{Path(name).stem}-{i}", tree)
            frames = int(r["frames"])
            print(f"export --frames png {shown:>9}, {label:<16}: {frames:3d} frames in {r['seconds']:6.1f} s"
                  f" ({r['seconds'] / frames * 1000:4.0f} ms a frame), peak RSS {r['peak'] / 2**20:6.1f} MiB")
            assert frames > 1
