"""One plain record per HTTP request, handed to observers (the classroom app's diagram, tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Outcomes beyond the bank's own (core.PROCESSED, DECLINED, REPLAYED, IN_PROGRESS, REJECTED).
READ = "read"  # a GET answered
INVALID = "invalid"  # refused before the bank: a problem detail, nothing written
DROPPED = "dropped"  # committed, then the connection was closed without an answer (a fault)
LEFT = "client left"  # the client closed the connection before its body was complete: nothing done


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What one request did: who sent it, what it asked, what the bank answered."""

    client: str  # "host:port"
    method: str
    path: str
    key: str | None
    status: int  # the HTTP status sent, 0 when the reply was dropped
    outcome: str
    replayed: bool = False
    delayed_ms: int = 0

    def line(self) -> str:
        """One line for a log or a diagram: `127.0.0.1:5050 POST /accounts/A-1001/withdrawals T123 -> 201`."""
        key = f" {self.key}" if self.key else ""
        answer = str(self.status)
        if self.status == 0:
            answer = "no reply (the client left mid-body)" if self.outcome == LEFT else "no reply (dropped)"
        replay = " (a replay)" if self.replayed and self.outcome != "replayed" else ""
        return f"{self.client} {self.method} {self.path}{key} -> {answer} {self.outcome}{replay}"


Observer = Callable[[RequestRecord], None]
