"""Hostile paths for `export --out` and `simulate --trace`: one line, exit 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atm_tui.cli.main import main
from atm_tui.paths import home_relative, quoted

LONG = "a" * 100_000


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err[:300])
    assert err.count("\n") == 1 and "Traceback" not in err, err[:300]
    assert len(err) < 400  # the 100,000 characters are not echoed back
    assert out == ""
    return err


@pytest.mark.parametrize("long", [LONG, "sub/" + LONG, LONG + "/x"])
def test_export_out_with_a_huge_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, long: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    err = _refused(capsys, ["export", "--scenario", "t123", "--out", long])
    assert "--out aaaa" in err or "--out sub/aaaa" in err
    assert "100,00" in err and "characters" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"] and not any((tmp_path / "sub").iterdir())


def test_simulate_trace_with_a_huge_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "bank.db"
    err = _refused(capsys, ["simulate", "--db", str(db), "--trace", LONG])
    assert err.startswith("atm-tui: error: --trace aaaa") and "cannot use that path" in err
    assert list(tmp_path.iterdir()) == []  # not even the bank's file


def test_simulate_trace_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _refused(capsys, ["simulate", "--db", str(tmp_path / "bank.db"), "--trace", ""])
    assert "--trace '': empty" in err
    assert list(tmp_path.iterdir()) == []


def test_export_out_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _refused(capsys, ["export", "--scenario", "t123", "--out", ""])
    assert "--out '': empty; give a folder" in err
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


def test_export_out_creates_missing_parents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "videos").mkdir()
    assert main(["export", "--scenario", "payment", "--out", "videos/payment"]) == 0
    assert (tmp_path / "videos" / "payment" / "summary.json").is_file()
    assert main(["export", "--scenario", "payment", "--out", "fresh"]) == 0  # relative, parent "."
    assert (tmp_path / "fresh" / "events.jsonl").is_file()
    # The README's `--out out/t123` from a fresh clone: two missing levels, both created (mkdir -p).
    assert main(["export", "--scenario", "payment", "--out", "no/such"]) == 0
    assert (tmp_path / "no" / "such" / "summary.json").is_file()
    capsys.readouterr()
    # A file on the way is refused, naming it, and nothing is written.
    (tmp_path / "plain").write_text("x")
    err = _refused(capsys, ["export", "--scenario", "payment", "--out", "plain/deeper/out"])
    assert "plain is a file, not a folder" in err
    assert (tmp_path / "plain").read_text() == "x"


def test_quoted_and_home_relative() -> None:
    assert quoted("") == "''"
    assert quoted("out/t123") == "out/t123"
    cut = quoted("b" * 500)
    assert len(cut) < 130 and cut.endswith("(500 characters)")
    assert home_relative("/home/ana/.local/share/atm-tui/x.db", "/home/ana") == "~/.local/share/atm-tui/x.db"
    assert home_relative("/home/ana", "/home/ana/") == "~"
    assert home_relative("/home/anabel/x.db", "/home/ana") == "/home/anabel/x.db"
    assert home_relative("/tmp/x.db", "/home/ana") == "/tmp/x.db"
    assert home_relative(os.path.expanduser("~/y.db")) == "~/y.db"
