"""`atm-tui --serve`: the HTTP bank inside the app, each outside request drawn as a diagram note.

Textual-free, like the Session it serves: it starts and stops `http.live.LiveHttpBank` on the
session's bank file, stamps stored times with the engine's virtual clock (so the simulated ATM's
keys and the students' keys share one time line), and asks for a bank read after every request,
so the bank pane shows what the HTTP client wrote, read from the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atm_tui.bank.store import StoreError

if TYPE_CHECKING:
    from atm_tui.http.live import LiveHttpBank
    from atm_tui.http.observe import RequestRecord
    from atm_tui.ui.core.session import Session


class ServedBank:
    """The HTTP bank of one Session; `start` says on the caption bar whether it listens."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.http: LiveHttpBank | None = None

    def _now(self) -> int:
        engine = self.session.engine
        return engine.now if engine is not None else 0

    async def start(self, host: str, port: int) -> None:
        from atm_tui.http.live import LiveHttpBank

        session = self.session
        self.http = LiveHttpBank(session.settings.db, port, self._heard, host=host, clock=self._now)
        try:
            url = await self.http.start()
        except (OSError, StoreError) as exc:
            self.http = None
            session.say(f"✕ HTTP bank on {host}:{port} did not start: {exc}")
        else:
            session.say(f"HTTP bank on {url}: every POST needs an Idempotency-Key; l shows the class")

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
            self.http = None

    def _heard(self, record: RequestRecord) -> None:
        from atm_tui.http.live import diagram_label

        self.session.heard_from_outside(self._now(), diagram_label(record))
