"""Faults on a real network: drop the next replies after the commit, or make the next one late.

A dropped reply closes the TCP connection without a byte of answer, after the bank committed:
the client cannot tell "lost before" from "lost after", which is the lesson. Starlette cannot
close a connection without answering (returning without a response makes uvicorn send a 500),
so `protocol_class` gives uvicorn an h11 protocol that lets the app find its connection's
transport by the client's address and abort it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(slots=True)
class Faults:
    """One-shot faults, armed by `serve`'s flags or by the app; each fires on the next write requests.

    `delay_ms` is spent while the request's key is held in flight, before the transaction: the
    bank is slow, so a retry arriving meanwhile is told 409 "in progress", and one arriving after
    it gets the replay.
    """

    drop_next: int = 0
    delay_next: int = 0
    delay_ms: int = 0
    dropped: int = field(default=0)

    def arm_drop(self, count: int = 1) -> None:
        self.drop_next += count

    def arm_delay(self, ms: int, count: int = 1) -> None:
        self.delay_ms = ms
        self.delay_next += count

    def take_delay(self) -> int:
        if self.delay_next <= 0 or self.delay_ms <= 0:
            return 0
        self.delay_next -= 1
        return self.delay_ms

    def take_drop(self) -> bool:
        if self.drop_next <= 0:
            return False
        self.drop_next -= 1
        self.dropped += 1
        return True


class Connections:
    """Open connections by client address, so a request's handler can abort its own."""

    def __init__(self) -> None:
        self.transports: dict[tuple[str, int], asyncio.BaseTransport] = {}

    def abort(self, client: tuple[str, int] | None) -> bool:
        transport = self.transports.get(client) if client else None
        if transport is None:
            return False
        abort = getattr(transport, "abort", transport.close)
        abort()
        return True


def protocol_class(connections: Connections) -> type[H11Protocol]:
    """uvicorn's h11 protocol, registering each connection's transport in `connections`."""

    class TrackedH11(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if self.client is not None:
                connections.transports[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client is not None:
                connections.transports.pop(self.client, None)
            super().connection_lost(exc)

    return TrackedH11
