"""`atm-tui scenarios` and `atm-tui export`: files written, byte-identical traces, bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from atm_tui.cli.main import main
from atm_tui.scenarios import builtin_names
from atm_tui.sim.trace import from_dict


def test_scenarios_lists_every_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == builtin_names()
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_export_writes_trace_summary_and_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t123"
    assert main(["export", "--scenario", "t123", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "captions.vtt", "events.jsonl", *(f"frame-{k:03d}.txt" for k in range(1, 6)), "keys.vtt",
        "summary.json", "t123.cast",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["balance"] == 45_000 and len(summary["ledger"]) == 1
    assert summary["deliveries"] == {"T123": {"processed": 1, "replayed": 2}}
    assert summary["outcomes"] == {"T123": "dispensed"}
    assert summary["seed"] == 123 and summary["steps_played"] == 5
    events = [from_dict(json.loads(line)) for line in (out / "events.jsonl").read_text().splitlines()]
    assert len(events) == summary["events"]
    assert [ev.t for ev in events] == sorted(ev.t for ev in events)  # virtual times, in order
    frame = (out / "frame-002.txt").read_text()
    assert frame.startswith("T123: three attempts, one debit\nstep 2 of 5")
    assert "T123         approved  hits 1" in frame and "Rs 45,000" in frame
    assert "t123: 5 frames" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["t123", "get-vs-post", "crash-gap"])
def test_two_exports_same_seed_byte_identical(name: str, tmp_path: Path) -> None:
    for folder in ("a", "b"):
        assert main(["export", "--scenario", name, "--seed", "99", "--out", str(tmp_path / folder)]) == 0
    for file in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_export_replaces_stale_frames(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["export", "--scenario", "t123", "--out", str(out)]) == 0
    assert main(["export", "--scenario", "payment", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("frame-*")) == ["frame-001.txt", "frame-002.txt", "frame-003.txt"]
    assert json.loads((out / "summary.json").read_text())["scenario"] == "payment"


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_export_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x")
    assert "no such scenario; use one of t123" in _error(
        capsys, ["export", "--scenario", "t12", "--out", out]
    )
    assert "--seed: 'minus' is not a whole number" in _error(
        capsys, ["export", "--scenario", "t123", "--seed", "minus", "--out", out]
    )
    assert "--seed: '-3' is out of range" in _error(
        capsys, ["export", "--scenario", "t123", "--seed", "-3", "--out", out]
    )
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "is a file; give a folder" in _error(
        capsys, ["export", "--scenario", "t123", "--out", str(a_file)]
    )
    # Missing parents are created (mkdir -p), but not through a file.
    assert "is a file, not a folder" in _error(
        capsys, ["export", "--scenario", "t123", "--out", str(a_file / "no" / "such")]
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
    try:
        msg = _error(capsys, ["export", "--scenario", "t123", "--out", str(locked / "out" / "deeper")])
    finally:
        os.chmod(locked, stat.S_IRWXU)
    assert "is not writable" in msg
    assert not (locked / "out").exists()
    assert "unknown frame format; use one of png, svg, txt" in _error(
        capsys, ["export", "--scenario", "t123", "--out", out, "--frames", "gif"]
    )
    assert not Path(out).exists()  # nothing half-written by any of these


def test_bad_scenario_file_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "t"\nsummary = "s"\n[[steps]]\nactions = ["withdraw"]\n')
    msg = _error(capsys, ["--scenario", str(bad)])
    assert f"scenario {bad}, line 3: step 1 has no caption" in msg


def test_scenario_flag_is_stored_for_the_app() -> None:
    from atm_tui.cli.parser import build_parser

    args = build_parser().parse_args(["--scenario", "vote"])
    assert args.scenario == "vote" and args.command is None
