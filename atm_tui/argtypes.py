"""argparse converters shared by every command: each refusal names the input and what is accepted."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable


def int_in(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """A whole number from lo to hi ("5_000" allowed)."""

    def convert(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number; use {what} from {lo:,} to {hi:,}"
            ) from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; use {what} from {lo:,} to {hi:,}")
        return value

    return convert


def probability(*, below_one: bool = False) -> Callable[[str], float]:
    """A probability from 0 to 1 (or to below 1, where 1 would make a run fail forever)."""
    accepted = "use a probability from 0 to below 1, e.g. 0.2" if below_one else (
        "use a probability from 0 to 1, e.g. 0.3"
    )

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {accepted}") from None
        if not (0.0 <= value < 1.0 if below_one else 0.0 <= value <= 1.0):
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; {accepted}")
        return value

    return convert


MAX_NAME = 100


def client_name(text: str) -> str:
    """A client id (`--name`): 1 to 100 printable ASCII characters, as the Client-Id header takes."""
    name = text.strip()
    if not 1 <= len(name) <= MAX_NAME or not all(" " <= ch <= "~" for ch in name):
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a client name; use 1 to {MAX_NAME} printable ASCII characters, e.g. atm-7"
        )
    return name


def new_client_name(kind: str) -> str:
    """A client id unique to this run: `kind-` and 8 random hex digits."""
    return f"{kind}-{secrets.token_hex(4)}"
