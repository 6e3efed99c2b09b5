"""Export benchmark (run with `python3 dev.py bench -k bench_export`; not part of the default run).

Each export runs in its own process (so peak memory is that export's alone): `atm-tui export
--frames png` of t123, kafka and a generated 100-step scenario, timed, with the peak resident
memory (ru_maxrss). Side by side in the same run: the same export with one app booted per step
(the way frames were captured before one app served a whole export). ATM_TUI_BASELINE=DIR adds
an older tree's export to the same rounds. Targets from the issue: cost per step flat, a
100-step export under 150 MiB. Reported, never asserted: only that every export wrote its frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

# A child: export one scenario, print seconds, peak RSS and the files written.
# argv: scenario (name or .toml path), out folder, "one-app" | "app-per-step".
_CHILD = r"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
from atm_tui.scenarios import export as export_module
from atm_tui.scenarios.loader import load
import atm_tui.ui.capture.frames  # registers --frames png

scenario, out, how = sys.argv[1:4]
if how == "app-per-step":
    # No app kept running for the export: every capture boots its own app, as before.
    for name in ("FILMING", "FILMERS"):
        if hasattr(export_module, name):
            getattr(export_module, name).clear()
    try:
        from atm_tui.scenarios import export_frames
        export_frames.FILMERS.clear()
    except ImportError:
        pass
options = export_module.FrameOptions()
names = asyncio.run(export_module.export(load(scenario), out, None, "png", options))
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


def _export(scenario: str, out: Path, how: str, tree: str = "") -> dict[str, float]:
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = tree
    proc = subprocess.run([sys.executable, "-c", _CHILD, scenario, str(out), how], capture_output=True,
                          text=True, check=True, env=env, cwd=tree or None)  # fmt: skip
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_bench_export_time_and_peak_memory(tmp_path: Path) -> None:
    hundred = str(generated(tmp_path / "hundred.toml", 100))
    runs = [("ours", "one-app", "")]
    baseline = os.environ.get("ATM_TUI_BASELINE")
    if baseline:
        runs.append(("baseline tree", "one-app", baseline))
    runs.append(("app per step", "app-per-step", ""))
    print()
    for name in ("t123", "kafka", hundred):
        shown = "100 steps" if name == hundred else name
        for label, how, tree in runs:
            r = _export(name, tmp_path / f"{Path(name).stem}-{label.replace(' ', '-')}", how, tree)
            frames = int(r["frames"])
            per = r["seconds"] / frames
            print(f"export --frames png {shown:>9}, {label:<13}: {frames:3d} frames in {r['seconds']:6.1f} s"
                  f" ({per * 1000:4.0f} ms a frame), peak RSS {r['peak'] / 2**20:6.1f} MiB")
            assert frames > 1
