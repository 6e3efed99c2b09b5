"""The command line explains itself: --version, help text on every option, and the app in --help."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from atm_tui.cli.main import main
from atm_tui.cli.parser import build_parser


def parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    root = build_parser()
    found: list[tuple[str, argparse.ArgumentParser]] = [("atm-tui", root)]
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            found += [(f"atm-tui {name}", sub) for name, sub in action.choices.items()]
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{prog} {' '.join(action.option_strings) or action.dest}"
        for prog, parser in parsers()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (action.help is None or not str(action.help).strip())
    ]
    assert missing == []
    assert len(parsers()) >= 6  # the app, scenarios, export, simulate, serve, client


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"atm-tui {version('atm-tui')}\n"


def test_help_says_how_the_app_opens_where_its_file_lives_and_how_to_quit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "With no COMMAND, atm-tui opens the classroom app" in flat
    assert "~/" in flat and "bank.db" in flat  # the app's file, home written as ~
    assert "q quits" in flat
    for command in ("scenarios", "export", "simulate", "serve", "client"):
        assert f"\n    {command}" in out
