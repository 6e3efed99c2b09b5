"""One database file per running scenario: the first app gets NAME.db, a second at once NAME-2.db.

A scenario's player empties its file on every run and every step back, so two apps playing the
same scenario must never share one. Each claims its file with an exclusive lock on NAME.db.lock
(fcntl.flock, held while the file is in use and dropped by the system if the process dies), and
takes the next free number when the lock is held. Files are reused: a later run gets NAME.db again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from atm_tui.bank.store import StoreError

MAX_INSTANCES = 100


class InstanceError(StoreError):
    """No file could be claimed; the message is one line naming the folder."""


class Claim:
    """A scenario file this process holds; release() (or the process's end) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def instance_path(folder: Path, name: str, number: int) -> Path:
    return folder / (f"{name}.db" if number == 1 else f"{name}-{number}.db")


def claim(folder: Path, name: str) -> Claim:
    """Lock and return the first of NAME.db, NAME-2.db, ... that no running app holds."""
    for number in range(1, MAX_INSTANCES + 1):
        path = instance_path(folder, name, number)
        try:
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InstanceError(f"scenario folder {folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except OSError as exc:
            os.close(fd)
            reason = exc.strerror or exc
            raise InstanceError(f"scenario folder {folder}: cannot lock {path.name} ({reason})") from None
        return Claim(path, fd)
    raise InstanceError(
        f"scenario {name}: {MAX_INSTANCES} apps are already playing it from {folder}; close one"
    )
