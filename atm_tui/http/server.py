"""Running the HTTP bank: uvicorn as a task in the caller's asyncio loop, bound to a socket we own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import Callable, Iterator

import uvicorn

from atm_tui.bank.core import Mode
from atm_tui.http.app import create_app
from atm_tui.http.desk import DEFAULT_LEASE_MS, Desk, wall_ms
from atm_tui.http.faults import Connections, Faults, protocol_class
from atm_tui.http.observe import Observer

# On SIGTERM or Ctrl-C, requests in flight get this long to finish before they are cancelled.
GRACE_S = 30


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the owner of the loop (the CLI, the app) decides."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free one). Raises OSError with the reason."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class HttpBank:
    """The bank's HTTP server over an open bank connection; start() and stop() in one asyncio loop.

    `observers` gets one RequestRecord per request; `faults` arms dropped or late replies.
    `own_signals`: let uvicorn handle Ctrl-C and SIGTERM (the `serve` command owns the process).
    `clock`: the ms stored in the file; wall-clock by default, the engine's own inside the app.
    `mode`: `naive` serves the teaching bank that checks no key (what `atm-tui check` must catch).
    """

    def __init__(self, conn: sqlite3.Connection, sock: socket.socket, *, ttl_ms: int = 86_400_000,
                 faults: Faults | None = None, observers: list[Observer] | None = None,
                 own_signals: bool = False, clock: Callable[[], int] = wall_ms, processing_ms: int = 0,
                 lease_ms: int = DEFAULT_LEASE_MS, mode: Mode = "idempotent") -> None:
        self.sock = sock
        self.faults = faults if faults is not None else Faults()
        self.observers: list[Observer] = observers if observers is not None else []
        self.desk = Desk(conn, ttl_ms=ttl_ms, clock=clock, processing_ms=processing_ms, lease_ms=lease_ms,
                         mode=mode)
        self.connections = Connections()
        app = create_app(self.desk, self.faults, self.connections, self.observers)
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False,
                                log_level="warning", http=protocol_class(self.connections),
                                timeout_graceful_shutdown=GRACE_S)
        self.server = uvicorn.Server(config) if own_signals else _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        if ":" in host:  # an IPv6 address is written in brackets in a URL (RFC 3986)
            host = f"[{host}]"
        return f"http://{host}:{port}"

    async def serve(self) -> None:
        """Serve until stop() (or the task is cancelled); the bank's worker thread ends with it."""
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            self.desk.close()

    async def start(self) -> None:
        """Serve in a background task; return once uvicorn accepts connections (or failed)."""
        self._task = asyncio.create_task(self.serve())
        for _ in range(500):  # bounded: 5 s
            if self.server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raise what stopped it
        if not self.server.started:
            raise RuntimeError(f"the HTTP bank did not start on {self.url}")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sock.close()
