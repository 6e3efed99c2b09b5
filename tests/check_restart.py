"""Start, or crash and restart, a server on a fixed port: the `--restart-cmd` the checker's tests give.

    python tests/check_restart.py --pidfile F --port N -- COMMAND ARGS...

SIGKILLs the process named in F if there is one (a crash, not a polite stop), starts COMMAND in
its own session, writes its pid to F and returns once 127.0.0.1:N accepts connections (exit 1
after 20 s if it never does).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def kill(pidfile: Path, port: int) -> None:
    """SIGKILL the process in the pidfile, then wait (bounded) until its port is closed.

    The port, not the pid, says it is gone: the server is no child of ours once an earlier
    restart exited, and a killed process's sockets close even before anyone reaps it.
    """
    if not pidfile.exists():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    pidfile.unlink()
    deadline = time.monotonic() + 10
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.01)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="check_restart")
    p.add_argument("--pidfile", type=Path, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    kill(args.pidfile, args.port)
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    args.pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + 20
    while not listening(args.port):
        if proc.poll() is not None or time.monotonic() > deadline:
            return 1
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
