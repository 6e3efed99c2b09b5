"""Start-up in a real terminal (run with `python3 dev.py bench`; not part of the default run).

tmux at 120x36, alternating atm-tui with a minimal Textual app, median of 5: the time from
starting the program to the first frame that shows its content (for atm-tui, the bank's balance
read from SQLite and the key bar). ATM_TUI_BASELINE=/path/to/an/older/tree adds that tree's
atm-tui to the same rounds, for a before/after in one run. Reported, never asserted.

Each tree's modules are compiled first (compileall), as `pip install` leaves them and as Textual's
already are: without that, a machine with PYTHONDONTWRITEBYTECODE=1 (this one, and CI) would charge
atm-tui for compiling its own source on every start and the minimal app for nothing.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

MINIMAL = """
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello, first frame")
        yield Footer()


Minimal().run()
"""
ROUNDS = 5
# Its own tmux server, kept up by a holder session: a server exiting after the last session would
# race the next new-session.
TMUX = ("tmux", "-L", f"atm-tui-bench-{os.getpid()}")


_runs = iter(range(1_000_000))


def _first_frame(command: str, marks: tuple[str, ...], env: dict[str, str]) -> float:
    # A new name each time: the last session's kill may not have finished yet.
    name = f"uibench{os.getpid()}-{next(_runs)}"
    started = time.perf_counter()
    # Started in a neutral folder: `python -m` puts the working folder first on sys.path, which
    # would shadow ATM_TUI_BASELINE's tree with the checkout the benchmark runs from.
    subprocess.run([*TMUX, "new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c",
                    tempfile.gettempdir(), command], check=True, env=env)
    try:
        while True:
            shown = subprocess.run([*TMUX, "capture-pane", "-t", name, "-p"], capture_output=True,
                                   text=True, check=False).stdout
            if all(m in shown for m in marks):
                return time.perf_counter() - started
            if time.perf_counter() - started > 30:
                raise AssertionError(f"no first frame in 30 s:\n{shown}")
            time.sleep(0.005)
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", name], check=False)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_bench_first_frame_in_tmux_vs_a_minimal_textual_app() -> None:
    folder = Path(tempfile.mkdtemp(prefix="atm-tui-startup-"))
    minimal = folder / "minimal.py"
    minimal.write_text(MINIMAL)
    python = sys.executable
    runs: dict[str, list[float]] = {"minimal": [], "atm-tui": []}
    trees = {"atm-tui": ""}
    baseline = os.environ.get("ATM_TUI_BASELINE")
    if baseline:
        runs["baseline"] = []
        trees["baseline"] = baseline
    import atm_tui

    packages = [Path(atm_tui.__file__).parent] + ([Path(baseline) / "atm_tui"] if baseline else [])
    for package in packages:
        subprocess.run([python, "-m", "compileall", "-q", str(package)], check=True)
    subprocess.run([*TMUX, "new-session", "-d", "-s", "hold", "sleep 600"], check=True)
    try:
        _rounds(runs, trees, folder, minimal, python)
    finally:
        subprocess.run([*TMUX, "kill-server"], check=False)
    m = statistics.median(runs["minimal"])
    print(f"\nfirst frame in tmux 120x36, median of {ROUNDS}: minimal Textual app {m * 1000:.0f} ms")
    for which in trees:
        o = statistics.median(runs[which])
        print(f"  {which}: {o * 1000:.0f} ms, {o / m:.2f}x the minimal app (target <= 1.5x:"
              f" {'met' if o / m <= 1.5 else 'MISSED'})")
    assert all(len(r) == ROUNDS for r in runs.values())


def _rounds(
    runs: dict[str, list[float]], trees: dict[str, str], folder: Path, minimal: Path, python: str
) -> None:
    for i in range(ROUNDS):  # interleaved, so each sees the same machine state
        env = dict(os.environ)
        runs["minimal"].append(_first_frame(f"{python} {minimal}", ("hello, first frame",), env))
        for which, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=tree) if tree else dict(os.environ)
            db = folder / f"{which}-{i}.db"
            command = f"{python} -m atm_tui --db {db} --fresh"
            runs[which].append(_first_frame(command, ("Balance: Rs 50,000", "q quit"), env))
