"""The HTTP bank inside another program's asyncio loop (the classroom app's `--serve`), Textual-free."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from atm_tui.bank.store import StoreConfig, open_sync
from atm_tui.http.desk import wall_ms
from atm_tui.http.faults import Faults
from atm_tui.http.observe import Observer, RequestRecord
from atm_tui.http.server import HttpBank, bind


def diagram_label(record: RequestRecord) -> str:
    """A short note for the sequence diagram: `HTTP 10.0.0.7 POST T123 → 201 replayed`."""
    who = record.client.rsplit(":", 1)[0]
    what = record.key or record.path
    answer = "no reply" if record.status == 0 else str(record.status)
    return f"HTTP {who} {record.method} {what} → {answer} {record.outcome}"


class LiveHttpBank:
    """Serve the bank file `db` over HTTP from the running loop, with its own SQLite connection.

    The file is the one the app shows: the bank pane reads what HTTP clients wrote, as for the
    simulated ATM. `on_request` runs on the loop's thread, once per request. `clock` gives the ms
    stored in the file: the app passes its engine's virtual clock, so that the keys and rows the
    class writes over HTTP and those of the simulated ATM share one time line (a key stored at
    wall-clock time would look expired, or never expire, to the engine, and vice versa).
    """

    def __init__(self, db: str, port: int, on_request: Observer, *, host: str = "127.0.0.1",
                 ttl_ms: int = 86_400_000, clock: Callable[[], int] = wall_ms) -> None:
        self.db = db
        self.port = port
        self.host = host
        self.ttl_ms = ttl_ms
        self.clock = clock
        self.on_request = on_request
        self.faults = Faults()
        self.bank: HttpBank | None = None

    @property
    def url(self) -> str:
        return self.bank.url if self.bank is not None else ""

    async def start(self) -> str:
        """Open the file, listen, serve; returns the URL. Raises StoreError or OSError."""
        conn = await asyncio.to_thread(open_sync, StoreConfig(self.db))
        try:
            sock = bind(self.host, self.port)
            self.bank = HttpBank(conn, sock, ttl_ms=self.ttl_ms, faults=self.faults,
                                 observers=[self.on_request], clock=self.clock)
            await self.bank.start()
        except BaseException:
            conn.close()
            self.bank = None
            raise
        return self.bank.url

    async def stop(self) -> None:
        bank, self.bank = self.bank, None
        if bank is not None:
            await bank.stop()
            bank.desk.conn.close()
