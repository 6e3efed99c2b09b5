"""One live log pipeline per bank file: a lock the operating system drops when its process ends.

The pipeline's broker log lives in one process's memory and its message ids (M1, M2, ...) are
numbered from the file when it opens, so a second pipeline on the same file would produce other
payments under the same ids and join the same consumer group. Instead the second one is refused
in one line. The lock is `flock` on a small file beside the bank's (`<db>-pipeline.lock`, removed
when the pipeline closes): a killed pipeline (SIGKILL included) loses the lock at once, so nothing
needs unsticking; the file it leaves is simply locked by the next pipeline. `flock` locks
are separate from the POSIX locks SQLite takes on the bank's file itself.
"""

from __future__ import annotations

import fcntl
import os

from atm_tui.bank.store import StoreError

SUFFIX = "-pipeline.lock"


class PipelineLock:
    """Held while a pipeline is open on `db`; `release()` (or the process's end) lets the next one in."""

    def __init__(self, db: str) -> None:
        self.path = db + SUFFIX
        self._fd: int | None = None
        if db == ":memory:":
            return  # nobody else can open this bank
        while True:
            fd = self._open(db)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise StoreError(
                    f"database path {db}: another log pipeline is running on this file (process {holder});"
                    " let it finish, or give this one another --db"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # its holder removed it as we opened it: lock the file that is there now
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def _open(self, db: str) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"database path {db}: cannot make its pipeline lock {self.path}"
                             f" ({exc.strerror or exc}); pick another path") from None

    def release(self) -> None:
        """Remove the lock file, then let go: a pipeline that starts next finds no file, or locks
        the one it finds after checking it is still the file at that path."""
        if self._fd is not None:
            try:
                os.remove(self.path)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
