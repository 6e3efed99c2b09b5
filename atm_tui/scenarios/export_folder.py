"""Where an export's files go: --out checked before the run, the files staged on disk during it,
and the folder written only once the whole run succeeded.

Staging each file as it is made keeps an export's memory flat however many steps it has (the
PNG frames of 100 steps are about 26 MB).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from atm_tui.paths import quoted
from atm_tui.scenarios.export_formats import ExportError

# What an earlier export may have left in the folder that this one no longer writes.
_EXPORTED = re.compile(r"^(frame-\d{3}(-start)?\.[a-z]+|[^/]+\.(cast|vtt|mp4))$")


def check_out_dir(out: str) -> Path:
    """Validate --out before running anything; ExportError names the path and the fix.

    The folder and any missing parents are created at write time (as `mkdir -p`); here the
    nearest folder that exists must be writable, and nothing on the way may be a file.
    """
    if out == "":
        raise ExportError("--out '': empty; give a folder (it is created if missing)")
    shown = quoted(out)
    try:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise ExportError(f"--out {shown}: is a file; give a folder (it is created if missing)")
        existing = path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ExportError(
                f"--out {shown}: {quoted(existing)} is a file, not a folder; pick another path"
            )
        mode = existing.stat().st_mode
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ExportError(f"--out {shown}: cannot use that path ({reason}); pick another path") from None
    # Root ignores permission bits, so honour them ourselves: a read-only folder means "do not write".
    if not mode & 0o222 or not os.access(existing, os.W_OK):
        raise ExportError(f"--out {shown}: folder {quoted(existing)} is not writable; pick another path")
    return path


class Staging:
    """The export's files, each written into a private temporary folder as soon as it is made."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[str] = []

    def put(self, name: str, data: str | bytes) -> None:
        try:
            (self.folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        except OSError as exc:
            raise ExportError(
                f"cannot stage {name} in {quoted(str(self.folder))} ({exc.strerror or exc})"
            ) from None
        self.add(name)

    def add(self, name: str) -> None:
        """Count a file something else wrote into the folder (the video)."""
        if name not in self.names:
            self.names.append(name)

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def files(self) -> dict[str, bytes]:
        """Every file by name, read back (for tests and tools; an export never holds them all)."""
        return {name: self.read(name) for name in self.names}


def write(out: Path, staged: Staging) -> None:
    """Move the staged files into `out` (created if missing); an earlier export's stale frames go."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            if _EXPORTED.match(old.name) and old.name not in staged.names:
                old.unlink()
        for name in staged.names:
            tmp = out / f".{name}.tmp"
            shutil.move(staged.folder / name, tmp)
            os.replace(tmp, out / name)
    except OSError as exc:
        raise ExportError(f"--out {quoted(str(out))}: cannot write there ({exc.strerror or exc})") from None
