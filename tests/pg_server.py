"""A throwaway PostgreSQL server for the tests, started from the machine's own binaries.

How the binaries are found (the README says the same): `initdb` and `pg_ctl` on PATH, else in
`pg_config --bindir`, else in Debian's `/usr/lib/postgresql/<version>/bin` (the newest). The
server lives in a temporary folder: its data, its log and its unix socket; it listens on no TCP
port of the machine's network, only on 127.0.0.1 at a free port, and both are gone after the
session. Durability is switched off (fsync, synchronous_commit): the tests kill `serve`
processes, never the database server, and each test gets a database of its own.

initdb refuses to run as root, so as root the server runs as the `postgres` user (which
Debian's package creates) through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "postgres"


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why and how to get one."""


def find_bindir(path: str | None = None, debian_root: str = "/usr/lib/postgresql") -> Path:
    """The folder holding initdb and pg_ctl, or Unavailable naming where it looked.

    `path` replaces $PATH and `debian_root` Debian's folder (for the test of the search itself).
    """
    on_path = shutil.which("initdb", path=path)
    if on_path and shutil.which("pg_ctl", path=path):
        return Path(on_path).resolve().parent
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config", path=path)
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(glob.glob(f"{debian_root}/*/bin"),
                      key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    candidates += [Path(p) for p in reversed(versions)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise Unavailable(
        f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH, in `pg_config --bindir` or in"
        f" {debian_root}/*/bin; install them (Debian: apt-get install postgresql)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One running server: `url(name)` is a database's URL; `new_database()` makes an empty one."""

    bindir: Path
    folder: Path
    port: int
    _as_user: list[str] = field(default_factory=list)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as_user, *argv], capture_output=True, text=True, timeout=120,
                              cwd=self.folder)

    def start(self) -> None:
        init = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                         "-E", "UTF8", "--locale=C", "--no-sync")
        if init.returncode:
            raise Unavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        started = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                            str(self.folder / "server.log"), "-o", options, "-w", "-t", "60", "start")
        if started.returncode:
            log = (self.folder / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise Unavailable(f"pg_ctl start failed: {started.stderr.strip()} {tail}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self) -> str:
        """An empty database of its own for one test; returns its URL."""
        import psycopg

        with self._lock:
            self._count += 1
            name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


def start_server() -> PgServer:
    """Start a server in a new temporary folder; Unavailable (with the reason) if it cannot be."""
    bindir = find_bindir()
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="atm-tui-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(PG_USER)
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            raise Unavailable(f"running as root and there is no {PG_USER!r} user for initdb to run as"
                              " (Debian's postgresql package creates it)") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise Unavailable("running as root and `runuser` is missing: initdb refuses to run as root")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = [runuser, "-u", PG_USER, "--"]
    server = PgServer(bindir, folder, free_port(), as_user)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
