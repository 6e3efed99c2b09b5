"""Writing a trace file safely: never over the bank's file or a file that is not an earlier trace.

A trace is written to a temporary file in the same folder and renamed over its path when the
run ends (or stops on an error), so a reader never sees a trace being written, and a run killed
midway leaves the old trace in place.
An existing file is replaced only if it already is a trace (its first line is one of our events)
or is empty: `--trace bank.db`, a typo naming a document, or a read-only file are refused in one
line and left byte for byte as they were.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

from atm_tui.paths import quoted
from atm_tui.sim.events import Event
from atm_tui.sim.trace import EVENTS_BY_KIND

FIRST_LINE_LIMIT = 65_536  # bytes read to recognise a trace; an event line is far shorter


def is_trace(path: Path) -> bool:
    """Whether the file's first line is an atm-tui event (so the file is an earlier trace)."""
    with path.open("rb") as fh:
        line = fh.readline(FIRST_LINE_LIMIT)
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("kind") in EVENTS_BY_KIND and isinstance(data.get("t"), int)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def trace_problem(path: str, db: str | None, flag: str = "--trace") -> str | None:
    """Why `path` may not receive a trace, as one line naming it, or None when it may."""
    target = Path(path)
    shown = quoted(path)
    if db and db != ":memory:":
        bank = Path(db)
        for suffix in ("", "-wal", "-shm", "-journal"):
            companion = Path(db + suffix)
            if _same_file(target, companion) or target.resolve() == companion.resolve():
                what = "the bank's file" if not suffix else f"the bank's {suffix[1:]} file"
                return f"{flag} {shown}: is {what} ({quoted(bank)}); give the trace a path of its own"
    try:
        st = target.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{flag} {shown}: cannot use that path ({exc.strerror or exc}); pick another path"
    if stat.S_ISDIR(st.st_mode):
        return f"{flag} {shown}: is a folder; give a file path"
    if not stat.S_ISREG(st.st_mode):
        return None  # a device or a pipe (/dev/null, a FIFO): written to, never replaced
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        return f"{flag} {shown}: file is read-only; pick another path"
    if st.st_size == 0:
        return None
    try:
        ours = is_trace(target)
    except OSError as exc:
        return f"{flag} {shown}: cannot read it ({exc.strerror or exc}); pick another path"
    if not ours:
        return (f"{flag} {shown}: exists and is not an earlier trace (its first line is not an atm-tui"
                " event); pick a new path, or delete the file first")
    return None


class TraceProblem(ValueError):
    """A path that may not receive a trace; the message is the one line."""


class AtomicTrace:
    """`with AtomicTrace(path, db) as fh:` a text file that becomes `path` only when the block ends well."""

    def __init__(self, path: str, db: str | None = None) -> None:
        problem = trace_problem(path, db)
        if problem:
            raise TraceProblem(problem)
        self.path = Path(path)
        self._fh: IO[str] | None = None
        self._tmp = ""

    def __enter__(self) -> IO[str]:
        if self.path.exists() and not self.path.is_file():  # a device or a pipe: write straight in
            self._fh = self.path.open("w", encoding="utf-8")
            return self._fh
        folder = self.path.parent if str(self.path.parent) else Path(".")
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        self._fh = os.fdopen(fd, "w", encoding="utf-8")
        return self._fh

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Rename the trace into place; also after a run that stopped (its events so far are whole
        lines, the evidence of what happened), but not after the trace itself failed to write."""
        assert self._fh is not None
        if not self._tmp:
            self._fh.close()
            return
        try:
            self._fh.close()
            if kind is None or not issubclass(kind, OSError):
                os.chmod(self._tmp, 0o644)
                os.replace(self._tmp, self.path)
                return
        except BaseException:
            Path(self._tmp).unlink(missing_ok=True)
            raise
        Path(self._tmp).unlink(missing_ok=True)


class TraceWriter:
    """Streams every event to a JSON-lines file as it happens; nothing is kept in memory."""

    def __init__(self, fh: IO[str]) -> None:
        self._write = fh.write

    def __call__(self, ev: Event) -> None:
        self._write(ev.to_json() + "\n")
