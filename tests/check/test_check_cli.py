"""`atm-tui check` from the command line: bad input, an unreachable server, the table and its curl lines."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from http_helpers import ledger, serve
from import_scan import imported_modules

from atm_tui.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "atm_tui" / "check"


@pytest.mark.parametrize(("argv", "needle"), [
    (["check", "ftp://x"], "BASE_URL: 'ftp://x' is not a server URL; use e.g. http://127.0.0.1:8000"),
    (["check", "http://127.0.0.1:1", "--path", "charges"], "--path: 'charges': use a path that starts"),
    (["check", "http://127.0.0.1:1", "--body", "{amount: 1}"], "--body: '{amount: 1}' is not JSON"),
    (["check", "http://127.0.0.1:1", "--method", "GET"], "--method: 'GET': use a write method"),
    (["check", "http://127.0.0.1:1", "--header", "Idem Key"], "--header: 'Idem Key' is not a header name"),
    (["check", "http://127.0.0.1:1", "--effect-pointer", "balance"], "'balance' is not a JSON pointer"),
    (["check", "http://127.0.0.1:1", "--copies", "1"], "--copies: '1' is out of range"),
    (["check", "http://127.0.0.1:1", "--timeout", "nan"], "--timeout: 'nan': use seconds from 0.1 to 600"),
    (["check", "http://127.0.0.1:1", "--mismatch-status", "500"], "--mismatch-status: '500' is out of range"),
    (["check", "http://127.0.0.1:1", "--send-header", "oops"], "--send-header: 'oops': use 'Name: value'"),
    (["check", "http://127.0.0.1:1", "--only", "replay"], "--only: 'replay' is not a rule; use one of"),
    (["check"], "the following arguments are required: BASE_URL"),
])
def test_bad_flags_are_one_line_and_exit_2(argv: list[str], needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert needle in err and err.count("\n") == 1, err


@pytest.mark.parametrize(("argv", "needle"), [
    (["--only", "key-expiry"], "--only key-expiry needs --expiry-probe SECONDS"),
    (["--only", "restart-keeps-key"],
     "--only restart-keeps-key needs --restart-cmd CMD, a command that restarts the server"),
    (["--watch", "--json"], "--watch draws the run on screen; --json prints it for a program: pick one"),
    (["--path", "/charges", "--effect-pointer", "/n"],
     "--effect-pointer reads the number at --effect URL; add --effect"),
])
def test_flags_that_need_each_other_are_one_line_and_exit_2(argv: list[str], needle: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "http://127.0.0.1:1", *argv]) == 2
    err = capsys.readouterr().err
    assert err == f"atm-tui check: error: {needle}\n"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_is_not_there_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    assert main(["check", f"http://127.0.0.1:{port}"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (f"atm-tui check: error: http://127.0.0.1:{port}: cannot connect (ConnectError);"
                       " is the server running there?\n")


def test_an_effect_pointer_that_finds_nothing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with serve(tmp_path / "bank.db") as (_proc, url):
        proc = subprocess.run([sys.executable, "-m", "atm_tui", "check", url, "--effect-pointer", "/nope"],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"atm-tui check: error: --effect-pointer '/nope': no 'nope' at that point of the"
                           f" document in --effect {url}/accounts/A-1001\n")


def test_the_table_names_every_rule_and_its_curl_lines_work_when_pasted(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db, "--mode", "naive") as (_proc, url):
        proc = subprocess.run([sys.executable, "-m", "atm_tui", "check", url, "--run-id", "abc123"],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        lines = proc.stdout.splitlines()
        assert proc.returncode == 1 and proc.stderr == ""
        assert lines[0].startswith(f"atm-tui check: POST {url}/accounts/A-1001/withdrawals")
        row = next(line for line in lines if line.startswith("duplicate-one-effect"))
        assert row.split()[1] == "FAIL" and "2 effects" in row
        assert any(line.startswith("5 required rules broken: replay-after-lost-reply") for line in lines)
        # The duplicate's evidence, pasted into a shell: the naive bank debits that key once more.
        section = lines.index(next(line for line in lines if line.startswith("== duplicate-one-effect")))
        curl = lines[section + 3].strip()
        assert curl.startswith("curl -si -X POST") and "check-abc123-duplicate" in curl
        before = ledger(db)["check-abc123-duplicate"]
        pasted = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
        assert pasted.stdout.startswith("HTTP/1.1 201")
        assert ledger(db)["check-abc123-duplicate"] == before + 1 == 3
        # A wrong path: the baseline says so, and the rules after it say they could not run.
        wrong = subprocess.run([sys.executable, "-m", "atm_tui", "check", url, "--path", "/nope", "--effect",
                                f"{url}/accounts/A-1001", "--effect-pointer", "/balance", "--brief"],
                               capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert wrong.returncode == 1
    row = next(line for line in wrong.stdout.splitlines() if line.startswith("baseline"))
    assert "FAIL     answered 404, not 2xx: check --path, --method and --body" in row
    assert wrong.stdout.rstrip().endswith("1 required rule broken: baseline; 8 could not run")


def test_the_checker_stays_out_of_the_ui() -> None:
    # docs/architecture.md: the checker is headless. Only the optional --watch view may use the UI,
    # and its model only the UI's Textual-free models.
    watch = {"watch.py", "watch_model.py"}
    files = [p for p in sorted(PACKAGE.glob("*.py")) if p.name not in watch]
    assert len(files) >= 8
    for path in files:
        for _line, module in imported_modules(path):
            assert not module.startswith(("textual", "atm_tui.ui", "atm_tui.scenarios")), (path.name, module)
    model = [m for _line, m in imported_modules(PACKAGE / "watch_model.py")]
    assert not [m for m in model if m.startswith("textual")]


def test_a_headless_check_loads_no_textual() -> None:
    code = """
import sys
from atm_tui.cli.parser import build_parser
import atm_tui.check.cli, atm_tui.check.runner, atm_tui.check.report, atm_tui.check.watch_model
build_parser()
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not loaded, loaded
print("clean")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "clean"
