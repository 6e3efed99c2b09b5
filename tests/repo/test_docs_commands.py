"""Every command in the README and docs/ works as written from a fresh clone.

Each ```sh block is read line by line: `.venv/bin/atm-tui ...` must parse with the real parser
(and a scenario name must load), `python3 dev.py X` must name a dev.py command, `sqlite3 FILE`
must open a file an earlier command of the same page creates (or the app's own bank), and
anything else must be one of the outside tools the page names (curl, vhs, asciinema, agg).
The cheap headless ones (`scenarios`, `simulate`) are run for real.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from atm_tui.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Tools from outside the clone; sudo only for installing and creating a PostgreSQL server (README)
OUTSIDE = {"curl", "vhs", "asciinema", "agg", "for", "done", "kill", "sudo", "B=http://127.0.0.1:8000"}
APP_BANK = "~/.local/share/atm-tui/bank.db"


def sh_blocks(text: str) -> list[list[str]]:
    """The command lines of each ```sh block (continuations joined, comments and blanks dropped)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    out = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        lines = []
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(" ".join(shlex.quote(w) for w in words))
        out.append(lines)
    return out


def commands(page: Path) -> list[list[str]]:
    """Each command of the page's sh blocks as words; `a && b` is two commands."""
    out = []
    for block in sh_blocks(page.read_text(encoding="utf-8")):
        for line in block:
            words = shlex.split(line)
            while "&&" in words:
                cut = words.index("&&")
                out.append(words[:cut])
                words = words[cut + 1 :]
            out.append(words)
    return out


def test_the_pages_have_commands() -> None:
    assert sum(len(commands(p)) for p in PAGES) > 30


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_of_the_page_works_as_written(page: Path) -> None:
    made: set[str] = {APP_BANK}  # files an earlier command of this page creates
    copies: dict[str, str] = {}  # cp SRC DST: DST stands for SRC
    venvs: set[str] = set()  # python3 -m venv DIR: a tool's own venv, outside the project's
    for words in commands(page):
        words = [copies.get(w, copies.get(w.removeprefix("./"), w)) for w in words]
        if words[-1] == "&":
            words = words[:-1]
        head, rest = words[0], words[1:]
        if head == ".venv/bin/atm-tui":
            check_atm_tui(rest)
            made |= {rest[i + 1] for i, w in enumerate(rest[:-1]) if w == "--db"}
        elif head == "python3" and rest[:2] == ["-m", "venv"]:
            venvs.add(rest[2])
        elif any(head.startswith(f"{v}/bin/") for v in venvs):
            pass  # a tool installed into the venv the page made just before
        elif head == "python3" and rest[:1] == ["dev.py"]:
            assert rest[1] in ("demo", "test", "bench"), words
            if rest[1] == "demo":
                check_atm_tui(rest[2:])
        elif head == ".venv/bin/python":
            assert rest[:1] == ["-m"] and (ROOT / (rest[1].replace(".", "/") + ".py")).is_file(), words
        elif head == ".venv/bin/pip":  # an extra of this project, into the venv dev.py made
            assert rest[:2] == ["install", "-e"] and rest[2].startswith(".["), words
            assert set(rest[2][2:-1].split(",")) <= EXTRAS, words
        elif head == ".venv/bin/pytest":  # installed by `python3 dev.py test`
            assert (ROOT / rest[0].split("::")[0]).is_file(), words
        elif head == "cp":
            assert (ROOT / rest[0]).is_file(), words
            copies[rest[1]] = rest[0]
        elif head == "sqlite3":
            assert rest[0] in made, f"{page.name}: sqlite3 {rest[0]}: no command of the page makes it"
        elif head == "asciinema":
            inner = rest[rest.index("-c") + 1]
            assert inner.startswith(".venv/bin/atm-tui "), inner
            check_atm_tui(shlex.split(inner)[1:])
        else:
            assert head in OUTSIDE, f"{page.name}: {' '.join(words)}: not a command a fresh clone has"
        assert head != "atm-tui", f"{page.name}: bare atm-tui is not on PATH after the Quick start"


def check_atm_tui(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"atm-tui {' '.join(argv)}: refused by the parser (exit {exc.code})") from None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_headless_commands_run(page: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "atm-tui"
    for words in commands(page):
        if words[0] == ".venv/bin/atm-tui" and words[1:2] in (["scenarios"], ["simulate"]):
            if "--withdrawals" in words and int(words[words.index("--withdrawals") + 1]) > 1000:
                continue  # a benchmark-sized run: parsed above, not run here
            done = subprocess.run([str(exe), *words[1:]], cwd=tmp_path, capture_output=True, text=True,
                                  timeout=120, check=False)  # fmt: skip
            assert done.returncode in (0, 1), (words, done.stderr)  # 1: --check saw a violation
            assert "Traceback" not in done.stderr
