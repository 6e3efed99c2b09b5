"""Autoplay's timing: holds from the caption or the file, validated; --exit-at-end in a real pty."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atm_tui.cli.main import main
from atm_tui.scenarios.loader import load
from atm_tui.scenarios.parsing import parse
from atm_tui.scenarios.scenario import ScenarioError
from atm_tui.scenarios.timing import MIN_HOLD, READING_CPS, hold_ms, reading_ms, timeline

ROOT = Path(__file__).resolve().parents[2]

TWO_STEPS = """
title = "Two quick beats"
summary = "A withdrawal and a balance check."
seed = 1

[[steps]]
caption = "One withdrawal."
actions = ["withdraw"]
hold = 1.5

[[steps]]
caption = "{long}"
actions = ["balance"]
"""


def two_steps(long: str = "x" * 150) -> str:
    return TWO_STEPS.replace("{long}", long)


def test_hold_defaults_to_the_reading_time_with_a_floor() -> None:
    sc = parse(two_steps(), "two", "two.toml")
    assert sc.steps[0].hold == 1.5 and sc.steps[1].hold is None
    assert hold_ms(sc, 1) == 1500  # the file's own hold wins
    assert hold_ms(sc, 2) == round(150 * 1000 / READING_CPS) == 10_000
    assert hold_ms(sc, 0) == round(MIN_HOLD * 1000)  # a short summary: the floor
    assert reading_ms("") == round(MIN_HOLD * 1000)
    assert hold_ms(sc, 2, override=2.25) == 2250  # --hold replaces every hold
    cues = timeline(sc)
    assert [(c.position, c.start, c.end) for c in cues] == [(0, 0, 4000), (1, 4000, 5500), (2, 5500, 15_500)]
    assert [c.position for c in timeline(sc, title=False)] == [1, 2]


def test_kafka_longest_caption_is_held_long_enough_to_read() -> None:
    kafka = load("kafka")
    longest = max(range(1, len(kafka.steps) + 1), key=lambda k: len(kafka.steps[k - 1].caption))
    assert hold_ms(kafka, longest) >= len(kafka.steps[longest - 1].caption) * 1000 / READING_CPS


@pytest.mark.parametrize("bad", ["-1", "0", "0.1", "601", '"long"', "true", "[3]"])
def test_a_bad_hold_names_the_file_and_line(bad: str) -> None:
    text = two_steps().replace("hold = 1.5", f"hold = {bad}")
    with pytest.raises(ScenarioError) as info:
        parse(text, "two", "two.toml")
    msg = str(info.value)
    line = 1 + text.splitlines().index(f"hold = {bad}")
    assert msg.startswith(f"scenario two.toml, line {line}: step 1: hold = ")
    assert "expected seconds on screen, a number from 0.5 to 600" in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--hold", "0"], "--hold: '0': expected seconds, from 0.5 to 600"),
        (["--hold", "soon"], "--hold: 'soon'"),
        (["--scenario", "t123", "--hold", "3"], "--hold paces --autoplay"),
        (["--scenario", "t123", "--exit-at-end"], "--exit-at-end paces --autoplay"),
    ],
)
def test_bad_hold_flags(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err, err


@pytest.mark.slow
def test_exit_at_end_quits_with_0_in_a_real_pty(tmp_path: Path) -> None:
    scenario = tmp_path / "two.toml"
    scenario.write_text(two_steps("The balance, checked."))
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), TERM="xterm-256color",
               COLUMNS="120", LINES="36")  # fmt: skip
    argv = [sys.executable, "-m", "atm_tui", "--scenario", str(scenario), "--autoplay", "--exit-at-end",
            "--hold", "0.5", "--no-animation"]  # fmt: skip
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 90
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the child closed its side
                    break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert code == 0, seen[-2000:]
    assert b"step 2 of 2" in seen  # it got to the last step before quitting
    # The scenario's own file lives in the data folder given, and the app left it closed.
    assert list((tmp_path / "data" / "atm-tui" / "scenarios").glob("two*.db"))
