"""Paths: the user's data folder, and how a file path is named to a person (home as ~, a long path cut)."""

from __future__ import annotations

import os
from pathlib import Path

LONGEST = 120  # characters of a path quoted in a message before it is cut


def data_dir() -> Path:
    """The user's data folder for atm-tui (the default bank, scenario files, screenshots)."""
    from platformdirs import user_data_dir  # loaded on first use, not at start-up

    return Path(user_data_dir("atm-tui"))


def home_relative(path: str | os.PathLike[str], home: str | None = None) -> str:
    """`path` with the home folder written as ~ (a screen or a video need not show a user's name)."""
    text = os.fspath(path)
    base = home if home is not None else os.path.expanduser("~")
    base = base.rstrip("/")
    if not base or base == "~":
        return text
    if text == base:
        return "~"
    if text.startswith(base + "/"):
        return "~" + text[len(base):]
    return text


def quoted(path: str | os.PathLike[str]) -> str:
    """A path for a one-line message: '' when empty, cut in the middle when longer than LONGEST."""
    text = os.fspath(path)
    if text == "":
        return "''"
    if len(text) <= LONGEST:
        return text
    return f"{text[:60]}…{text[-40:]} ({len(text):,} characters)"


def problem_of_new_file(path: str, flag: str) -> str | None:
    """Why `path` cannot be a file we are about to create, as one line, or None when it can."""
    if path == "":
        return f"{flag} '': empty; give a file path"
    shown = quoted(path)
    try:
        target = Path(path)
        folder = target.parent
        if not folder.is_dir():
            return f"{flag} {shown}: folder {quoted(folder)} does not exist; create it or pick another path"
        if target.is_dir():
            return f"{flag} {shown}: is a folder; give a file path"
    except OSError as exc:
        return f"{flag} {shown}: cannot use that path ({exc.strerror or exc}); pick another path"
    except ValueError as exc:  # a NUL byte in the path
        return f"{flag} {shown}: cannot use that path ({exc}); pick another path"
    return None

