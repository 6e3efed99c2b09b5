"""The fault-injecting HTTP proxy: a real loopback socket between the checker and the target.

The checker's client talks HTTP/1.1 to this proxy; the proxy forwards each request to the
target over its own connections (httpx) and applies the fault the request names in the
`X-Atm-Check-Fault` header, which it strips, so the target never sees it:

- `drop-request`: the request never reaches the target; the client's connection is closed.
- `drop-response`: the target gets it and answers; the proxy closes the client's connection
  without a byte of that answer (the client cannot tell this from a lost request).
- `duplicate`: the target gets the request twice, one after the other; the client gets the
  first answer.
- `delay=MS`: the request waits MS ms in the proxy before it goes on; a client that gave up
  meanwhile does not stop it (a late packet still arrives).
- `copies=N`: N copies go to the target at once, each on its own connection; the client gets
  the first copy's answer.

Every exchange is recorded (what went out, each copy's answer, what the client got), and
listeners hear each hop as it happens (the `--watch` diagram draws them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import h11
import httpx

FAULT_HEADER = "x-atm-check-fault"
MAX_COPIES = 50
MAX_DELAY_MS = 60_000
# Hop-by-hop headers (RFC 9110 7.6.1) and the ones httpx recomputes for the forwarded copy.
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                  "upgrade", "host", "content-length", FAULT_HEADER}
_NOT_RETURNED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                 "trailer", "upgrade"}


@dataclass(frozen=True, slots=True)
class Fault:
    """What the proxy does to one request; `kind` is pass, drop-request, drop-response, duplicate,
    delay or copies."""

    kind: str = "pass"
    delay_ms: int = 0
    copies: int = 1

    def header(self) -> str:
        if self.kind == "delay":
            return f"delay={self.delay_ms}"
        if self.kind == "copies":
            return f"copies={self.copies}"
        return self.kind

    @classmethod
    def parse(cls, text: str | None) -> Fault:
        """The fault a header names; raises ValueError naming what is accepted."""
        value = (text or "pass").strip().lower()
        if value in ("pass", "drop-request", "drop-response", "duplicate"):
            return cls(value)
        name, _, number = value.partition("=")
        if name in ("delay", "copies") and number.isdigit():
            n = int(number)
            if name == "delay" and n <= MAX_DELAY_MS:
                return cls("delay", delay_ms=n)
            if name == "copies" and 1 <= n <= MAX_COPIES:
                return cls("copies", copies=n)
        raise ValueError(f"{FAULT_HEADER}: {text!r}; use pass, drop-request, drop-response, duplicate,"
                         f" delay=MS (up to {MAX_DELAY_MS}) or copies=N (1 to {MAX_COPIES})")

    @property
    def copies_sent(self) -> int:
        return {"drop-request": 0, "duplicate": 2, "copies": self.copies}.get(self.kind, 1)


@dataclass(slots=True)
class Answer:
    """The target's answer to one forwarded copy (status 0 and `error` when there was none)."""

    status: int
    headers: dict[str, str]
    body: bytes
    error: str = ""
    ms: float = 0.0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class Exchange:
    """One request the client sent through the proxy, and what became of it."""

    number: int
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    fault: Fault
    answers: list[Answer] = field(default_factory=list)  # one per copy the target got, in send order
    delivered: int | None = None  # index in `answers` of the one the client received
    client_gone: bool = False  # the client hung up before an answer could go back
    done: bool = False


@dataclass(frozen=True, slots=True)
class Hop:
    """One thing the proxy saw or did, for listeners: `what` is request, held, forwarded, answered,
    dropped-request, dropped-response, delivered or client-gone."""

    exchange: int
    what: str
    copy: int = 0
    status: int = 0
    key: str | None = None
    replayed: bool = False  # the answer said `Idempotent-Replayed: true`
    delay_ms: int = 0  # how long a held request waits


Listener = Callable[[Hop], None]


class FaultProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to `target`, a base URL."""

    def __init__(self, target: str, *, key_header: str = "Idempotency-Key", timeout_s: float = 10.0,
                 host: str = "127.0.0.1") -> None:
        self.target = target.rstrip("/")
        self.key_header = key_header.lower()
        self.timeout_s = timeout_s
        self.host = host
        self.exchanges: list[Exchange] = []
        self.listeners: list[Listener] = []
        self._taken = 0
        self._open: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._upstream: httpx.AsyncClient | None = None
        self._started = time.perf_counter()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self._upstream = httpx.AsyncClient(base_url=self.target, timeout=self.timeout_s,
                                           limits=httpx.Limits(max_connections=MAX_COPIES * 2),
                                           follow_redirects=False)
        self._server = await asyncio.start_server(self._serve, self.host, 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._open):
            task.cancel()
        for task in list(self._open):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        if self._upstream is not None:
            await self._upstream.aclose()
            self._upstream = None

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def take(self) -> list[Exchange]:
        """The exchanges recorded since the last take()."""
        new = self.exchanges[self._taken:]
        self._taken = len(self.exchanges)
        return new

    async def idle(self, timeout_s: float = 30.0) -> None:
        """Wait until every exchange under way (a delayed one, say) has finished."""
        deadline = time.monotonic() + timeout_s
        while any(not e.done for e in self.exchanges) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    # -- one client connection ------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read(conn, reader)
                if request is None:
                    break
                keep = await self._exchange(conn, reader, writer, *request)
                if not keep or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): end quietly (a cancelled stream task makes asyncio log a traceback)
        finally:
            self._open.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read(conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[h11.Request, bytes] | None:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65_536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def _tell(self, hop: Hop) -> None:
        for listener in list(self.listeners):
            listener(hop)

    async def _exchange(self, conn: h11.Connection, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter, request: h11.Request, body: bytes) -> bool:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
        raw_fault = next((v for k, v in headers if k.lower() == FAULT_HEADER), None)
        try:
            fault = Fault.parse(raw_fault)
        except ValueError as exc:
            await self._send(conn, writer, Answer(400, {"content-type": "text/plain"}, f"{exc}\n".encode()))
            return False
        forwarded = [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED]
        key = next((v for k, v in forwarded if k.lower() == self.key_header), None)
        ex = Exchange(len(self.exchanges) + 1, request.method.decode("ascii"),
                      request.target.decode("latin-1"), forwarded, body, fault)
        self.exchanges.append(ex)
        self._tell(Hop(ex.number, "request", key=key))
        try:
            if fault.kind == "drop-request":
                self._tell(Hop(ex.number, "dropped-request", key=key))
                return False
            if fault.kind == "delay":
                self._tell(Hop(ex.number, "held", key=key, delay_ms=fault.delay_ms))
                await asyncio.sleep(fault.delay_ms / 1000)
            ex.answers = [Answer(0, {}, b"", error="not answered yet") for _ in range(fault.copies_sent)]
            if fault.kind == "copies":
                await asyncio.gather(*(self._forward(ex, i, key) for i in range(fault.copies)))
            else:
                for i in range(fault.copies_sent):
                    await self._forward(ex, i, key)
            if fault.kind == "drop-response":
                self._tell(Hop(ex.number, "dropped-response", status=ex.answers[0].status, key=key))
                return False
            if reader.at_eof():  # the client hung up meanwhile (it timed out): nobody to answer
                ex.client_gone = True
                self._tell(Hop(ex.number, "client-gone", status=ex.answers[0].status, key=key))
                return False
            try:
                await self._send(conn, writer, ex.answers[0])
            except (ConnectionError, h11.ProtocolError):
                ex.client_gone = True
                return False
            ex.delivered = 0
            self._tell(Hop(ex.number, "delivered", status=ex.answers[0].status, key=key))
            return True
        finally:
            ex.done = True

    async def _forward(self, ex: Exchange, index: int, key: str | None) -> None:
        assert self._upstream is not None
        self._tell(Hop(ex.number, "forwarded", copy=index + 1, key=key))
        start = time.perf_counter()
        try:
            resp = await self._upstream.request(ex.method, ex.target, headers=ex.headers, content=ex.body)
            answer = Answer(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)
        except httpx.HTTPError as exc:
            answer = Answer(0, {}, b"", error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        answer.ms = (time.perf_counter() - start) * 1000
        ex.answers[index] = answer
        replayed = (answer.header("idempotent-replayed") or "").lower() == "true"
        self._tell(Hop(ex.number, "answered", copy=index + 1, status=answer.status, key=key,
                       replayed=replayed))

    @staticmethod
    async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, answer: Answer) -> None:
        if answer.status == 0:  # the target did not answer: say so as a gateway would
            answer = Answer(502, {"content-type": "text/plain"}, f"proxy: {answer.error}\n".encode())
        headers = [(k, v) for k, v in answer.headers.items() if k not in _NOT_RETURNED]
        headers.append(("content-length", str(len(answer.body))))
        data = conn.send(h11.Response(status_code=answer.status, headers=headers))
        data = (data or b"") + (conn.send(h11.Data(data=answer.body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await writer.drain()
