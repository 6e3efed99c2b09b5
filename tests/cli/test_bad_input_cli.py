"""Issue 14's hostile inputs at the CLI: one line naming the input and what is accepted, exit 2,
no traceback, and no file written or changed. One test per input (parametrized over the commands
that take it)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from engine_helpers import run_cli

from atm_tui.bank.store import StoreError, check_path
from atm_tui.cli.main import main
from atm_tui.scenarios.loader import MAX_FILE_BYTES, load
from atm_tui.scenarios.scenario import ScenarioError

LONG_NAME = "a" * 300 + ".db"
DIGITS_5000 = "9" * 5000
COMMANDS_WITH_DB = {
    "simulate": ["simulate"],
    "pipeline": ["simulate", "--pipeline", "log"],
    "serve": ["serve", "--port", "0"],
    "app": [],
}


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], *names: str) -> str:
    """Run main() in process; assert one line on stderr, exit 2, nothing on stdout; return the line."""
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    out, err = capsys.readouterr()
    assert info.value.code == 2, (info.value.code, out, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    for name in names:
        assert name in err, err
    return err


def assert_refused(proc: subprocess.CompletedProcess[str], *names: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    for name in names:
        assert name in proc.stderr, proc.stderr


# -- --db -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", list(COMMANDS_WITH_DB))
def test_a_db_name_over_255_bytes_is_one_line(command: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / LONG_NAME
    err = refused([*COMMANDS_WITH_DB[command], "--db", str(db)], capsys, "--db", "303 bytes", "at most 255")
    assert "--trace" not in err  # simulate used to blame a --trace that was never given
    assert len(err) < 400
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", list(COMMANDS_WITH_DB))
def test_an_empty_db_is_refused_not_a_temporary_file(command: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    refused([*COMMANDS_WITH_DB[command], "--db", ""], capsys, "--db", "''", "give a file path")


def test_a_db_path_the_system_cannot_take_is_a_store_error(tmp_path: Path) -> None:
    # Every name short, the whole path past PATH_MAX: the open-time check says so in one line.
    path = str(tmp_path / "/".join(["d" * 200] * 25) / "bank.db")
    with pytest.raises(StoreError) as info:
        check_path(path)
    assert "cannot use it" in str(info.value) and "\n" not in str(info.value)
    assert len(str(info.value)) < 300


def test_simulate_with_a_long_db_name_in_a_real_process(tmp_path: Path) -> None:
    assert_refused(run_cli("simulate", "--db", str(tmp_path / LONG_NAME)), "--db", "at most 255")
    assert list(tmp_path.iterdir()) == []


# -- a foreign database reusing the bank's table names --------------------------------------------
def _foreign(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE meta (name TEXT); CREATE TABLE accounts (acct TEXT, cents INTEGER);"
        "CREATE TABLE ledger (line TEXT); CREATE TABLE idempotency_keys (k TEXT);"
        "CREATE TABLE deliveries (d TEXT); INSERT INTO ledger VALUES ('someone else''s row');"
    )
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("command", ["simulate", "pipeline", "serve"])
def test_a_foreign_database_with_the_banks_table_names_is_refused_unchanged(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "theirs.db"
    before = _foreign(db)
    refused([*COMMANDS_WITH_DB[command], "--db", str(db)], capsys, str(db), "not an atm-tui bank",
            "accounts lacks")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]  # no WAL, no new tables


# -- numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["simulate", "--seed", DIGITS_5000],
    ["--seed", DIGITS_5000],
    ["export", "--scenario", "t123", "--out", "OUT", "--seed", DIGITS_5000],
    ["client", "--bank", "http://127.0.0.1:9", "--seed", DIGITS_5000],
])
def test_a_5000_digit_seed_is_one_short_line(argv: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    err = refused(argv, capsys, "--seed", "5,000 digits", "from 0 to 9,223,372,036,854,775,807")
    assert len(err) < 300
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--crash-before-commit", "--zombie"])
@pytest.mark.parametrize("rate", ["0.995", "0.9999999"])
def test_a_fault_rate_that_would_never_end_is_refused(flag: str, rate: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    refused(["simulate", "--pipeline", "log", "--db", str(tmp_path / "b.db"), flag, rate], capsys,
            flag, f"'{rate}'", "from 0 to 0.99")
    assert list(tmp_path.iterdir()) == []


def test_the_highest_accepted_fault_rate_ends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--pipeline", "log", "--db", str(tmp_path / "b.db"), "--messages", "3",
                 "--crash-before-commit", "0.99", "--seed", "1", "--check"])
    assert code == 0, capsys.readouterr()
    assert "all hold" in capsys.readouterr().out


# -- client ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "names"), [
    (["--bank", "http://127.0.0.1:99999"], ["--bank", "port 99999", "1 to 65,535"]),
    (["--prefix", "é"], ["--prefix", "visible ASCII"]),
    (["--prefix", "T\x01"], ["--prefix", "'\\x01'", "visible ASCII"]),
    (["--prefix", "T 1"], ["--prefix", "no spaces"]),
    (["--prefix", "P" * 300], ["--prefix", "300 characters", "at most 100"]),
    (["--account", "A-1001/withdrawals"], ["--account", "letters, digits", "A-1001"]),
], ids=["port", "non-ascii-prefix", "control-prefix", "space-prefix", "long-prefix", "slash-account"])
def test_client_bad_input(argv: list[str], names: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["client", "--bank", "http://127.0.0.1:9", *argv]
    refused(args, capsys, *names)


def test_client_port_out_of_range_in_a_real_process() -> None:
    assert_refused(run_cli("client", "--bank", "http://127.0.0.1:99999"), "port 99999")


# -- scenario files --------------------------------------------------------------------------------
def _scenario_refused(path: Path, capsys: pytest.CaptureFixture[str], *names: str) -> None:
    refused(["export", "--scenario", str(path), "--out", str(path.parent / "out")], capsys, *names)
    assert not (path.parent / "out").exists()


def test_a_scenario_nested_100000_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.toml"
    path.write_text('title = "t"\nsummary = "s"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    _scenario_refused(path, capsys, "deep.toml", "nested too deep")


def test_a_scenario_that_is_a_symlink_to_dev_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zero.toml"
    path.symlink_to("/dev/zero")
    _scenario_refused(path, capsys, "zero.toml", "not a regular file")


def test_a_scenario_that_is_a_fifo_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load(str(path))


def test_a_huge_scenario_file_is_not_read_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as f:
        f.truncate(64 * MAX_FILE_BYTES)  # sparse: 64 MiB that take no disk
    _scenario_refused(path, capsys, "huge.toml", f"over {MAX_FILE_BYTES:,} bytes")


def test_a_scenario_seed_of_5000_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(f'title = "t"\nsummary = "s"\nseed = {DIGITS_5000}\n')
    _scenario_refused(path, capsys, "seed.toml", "number too long")


STORY = 'title = "t"\nsummary = "s"\n{start}[[steps]]\ncaption = "c"\nactions = [{action}]\n'


@pytest.mark.parametrize(("start", "action", "names"), [
    ("[start]\namount = 150\n", '"withdraw"', ["line 4", "amount = 150", "a multiple of 100"]),
    ("", '{ do = "withdraw", amount = 5050 }', ["line 5", "amount = 5050", "a multiple of 100"]),
    ("", '{ do = "payment", amount = 50, key = "p1" }', ["amount = 50", "a multiple of 100"]),
    ('kind = "pipeline"\n[start]\namount = 250\n', '"produce"', ["amount = 250", "a multiple of 100"]),
], ids=["start", "withdraw", "payment", "pipeline"])
def test_a_scenario_amount_not_a_multiple_of_100(start: str, action: str, names: list[str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "amount.toml"
    path.write_text(STORY.format(start=start, action=action))
    _scenario_refused(path, capsys, "amount.toml", *names)
