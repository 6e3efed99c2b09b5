"""argparse converters shared by every command: each refusal names the input and what is accepted."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable

from atm_tui.paths import quoted

NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems
LONGEST_NUMBER = 30  # characters of a number worth reading; anything longer is refused unread


def int_in(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """A whole number from lo to hi ("5_000" allowed)."""

    def convert(text: str) -> int:
        accepted = f"use {what} from {lo:,} to {hi:,}"
        digits = text.strip().replace("_", "")
        if len(digits) > LONGEST_NUMBER:
            # Python refuses int() past 4,300 digits, and echoing them would flood the terminal.
            if digits.lstrip("+-").isdigit():
                raise argparse.ArgumentTypeError(
                    f"a number of {len(digits):,} digits is out of range; {accepted}")
            raise argparse.ArgumentTypeError(f"{_cut(text)} is not a whole number; {accepted}")
        try:
            value = int(digits, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; {accepted}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; {accepted}")
        return value

    return convert


def _cut(text: str) -> str:
    """An argument quoted for a one-line message, cut when it is too long to read."""
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text):,} characters)"


MAX_RETRYING = 0.99
"""The highest rate of a fault that makes the same work start again (a consumer's crash before
its commit, a zombie): each message then takes 1 / (1 - p) tries on average, 100 at 0.99, so a run
still ends; at 0.9999999 it would take ten million tries a message and never finish."""


def probability(*, below_one: bool = False) -> Callable[[str], float]:
    """A probability from 0 to 1, or to MAX_RETRYING for a fault that makes work start over."""
    top = MAX_RETRYING if below_one else 1.0
    accepted = (f"use a probability from 0 to {top:g}, e.g. 0.2 (a higher rate would make the run"
                " go on for ever)") if below_one else "use a probability from 0 to 1, e.g. 0.3"

    def convert(text: str) -> float:
        try:
            value = float(text) if len(text) <= LONGEST_NUMBER else float("nan")
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_cut(text)} is not a number; {accepted}") from None
        if not 0.0 <= value <= top:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{_cut(text)} is out of range; {accepted}")
        return value

    return convert


def file_path() -> Callable[[str], str]:
    """A path for a file we open or create: not empty, no NUL, no name longer than the system allows.

    Checked while parsing, so `--db ''` is refused instead of quietly meaning "a temporary file",
    and a 300-character file name gets one line instead of an OSError from deep inside a run.
    """

    def convert(text: str) -> str:
        if text == "":
            raise argparse.ArgumentTypeError("'' is empty; give a file path such as bank.db")
        if "\0" in text:
            raise argparse.ArgumentTypeError(f"{quoted(text)} holds a NUL character; give a plain file path")
        for part in text.split(os.sep):
            size = len(os.fsencode(part)) if _encodable(part) else NAME_MAX + 1
            if size > NAME_MAX:
                raise argparse.ArgumentTypeError(
                    f"{quoted(text)}: a name in it is {size:,} bytes long; a file or folder name"
                    f" may have at most {NAME_MAX} bytes"
                )
        return text

    return convert


def _encodable(part: str) -> bool:
    try:
        os.fsencode(part)
    except UnicodeError:
        return False
    return True
MAX_NAME = 100


def client_name(text: str) -> str:
    """A client id (`--name`): 1 to 100 visible ASCII characters, as the Client-Id header takes."""
    name = text.strip()
    if not 1 <= len(name) <= MAX_NAME or not all("!" <= ch <= "~" for ch in name):
        raise argparse.ArgumentTypeError(
            f"{_cut(text)} is not a client name; use 1 to {MAX_NAME} visible ASCII characters"
            " (letters, digits, punctuation; no spaces), e.g. atm-7"
        )
    return name


def new_client_name(kind: str) -> str:
    """A client id unique to this run: `kind-` and 8 random hex digits."""
    return f"{kind}-{secrets.token_hex(4)}"
