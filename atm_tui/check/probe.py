"""What a rule works with: one request through the proxy (a Step), effect counts, a restart."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import time
from dataclasses import dataclass, field

import httpx

from atm_tui.check.proxy import FAULT_HEADER, Exchange, Fault, FaultProxy, Listener
from atm_tui.check.target import EffectError, Target

CLOSED = "connection closed"
TIMED_OUT = "timed out"


class CheckError(Exception):
    """The check cannot run at all (the target does not answer, the effect cannot be read)."""


@dataclass(slots=True)
class Step:
    """One request the checker sent through the proxy, and what it saw."""

    label: str
    key: str | None
    body: str
    fault: Fault
    exchange: Exchange | None
    status: int | None  # what the client got; None: no answer
    seen: str  # "201", "connection closed", "timed out"
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def note(self) -> str:
        """What happened to this request on the way, in words, for the curl comment."""
        ex = self.exchange
        sent = list(ex.answers) if ex else []
        statuses = ", ".join(str(a.status) if a.status else (a.error or "no answer") for a in sent)
        kind = self.fault.kind
        if kind == "drop-request":
            return "the proxy dropped this request: the target never saw it"
        if kind == "drop-response":
            return f"the target answered {statuses}; the proxy dropped that reply (client: {self.seen})"
        if kind == "duplicate":
            return f"the proxy delivered it twice; the target answered {statuses}"
        if kind == "copies":
            return f"sent at once on {self.fault.copies} connections; the target answered {statuses}"
        if kind == "delay":
            return (f"held {self.fault.delay_ms} ms in the proxy (client: {self.seen});"
                    f" the target then answered {statuses}")
        return f"answered {self.seen}"

    def curl(self, target: Target) -> list[str]:
        """The step as lines a student can paste (the fault itself is a comment: curl cannot drop)."""
        line = target.curl(self.key, self.body)
        lines = [f"# {self.label}: {self.note()}"]
        if self.fault.kind == "duplicate":
            lines += [line, line]
        elif self.fault.kind == "copies":
            lines.append(f"for i in $(seq {self.fault.copies}); do {line} & done; wait")
        elif self.fault.kind == "delay":
            # In the background: the retry below goes first, and this one arrives late.
            lines.append(f"(sleep {self.fault.delay_ms / 1000:g}; {line}) &")
        else:
            lines.append(line)
        return lines

    def to_dict(self) -> dict[str, object]:
        ex = self.exchange
        return {
            "label": self.label, "key": self.key, "body": self.body, "fault": self.fault.header(),
            "client_saw": self.seen,
            "target_answers": [{"status": a.status, "error": a.error or None,
                                "body": a.body.decode("utf-8", "replace")}
                               for a in (ex.answers if ex else [])],
        }


class Probe:
    """What a rule uses: send a request through the proxy, count effects, restart the target."""

    def __init__(self, target: Target, proxy: FaultProxy, client: httpx.AsyncClient,
                 direct: httpx.AsyncClient, run_id: str, restart_cmd: str | None = None) -> None:
        self.target = target
        self.proxy = proxy
        self.client = client
        self.direct = direct
        self.run_id = run_id
        self.restart_cmd = restart_cmd
        self.unit: float | None = None  # the effect number's change for one effect (the baseline's)
        self.latency_ms = 50.0
        self._n = 0

    def key(self, case: str) -> str:
        return f"check-{self.run_id}-{case}"

    def number(self) -> int:
        """A fresh value for the body's {n}."""
        self._n += 1
        return int(self.run_id, 16) % 100_000 * 1000 + self._n

    async def send(self, label: str, key: str | None, body: str, fault: Fault | None = None,
                   timeout_s: float | None = None, keyless: bool = False) -> Step:
        fault = fault or Fault()
        headers = self.target.request_headers(None if keyless else key)
        if fault.kind != "pass":
            headers[FAULT_HEADER] = fault.header()
        start = time.perf_counter()
        status: int | None = None
        content, got_headers = b"", {}
        try:
            wait = timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT
            resp = await self.client.request(self.target.method, self.target.path, content=body.encode(),
                                             headers=headers, timeout=wait)
            status, content = resp.status_code, resp.content
            got_headers = {k.lower(): v for k, v in resp.headers.items()}
            seen = str(status)
        except httpx.TimeoutException:
            seen = TIMED_OUT
        except httpx.TransportError:
            seen = CLOSED
        elapsed = (time.perf_counter() - start) * 1000
        if fault.kind == "pass":
            self.latency_ms = max(self.latency_ms, elapsed)
        exchange = self.proxy.exchanges[-1] if self.proxy.exchanges else None
        for ex in reversed(self.proxy.exchanges):  # the exchange of this request, by its key and body
            if ex.body == body.encode() and _key_of(ex, self.target.key_header) == (None if keyless else key):
                exchange = ex
                break
        sent_key = None if keyless else key
        return Step(label, sent_key, body, fault, exchange, status, seen, content, got_headers)

    async def settle(self) -> None:
        """Wait for what is still on its way (a held request) to reach the target and be answered."""
        await self.proxy.idle()

    async def effect(self) -> float | None:
        if self.target.effect_url is None:
            return None
        try:
            resp = await self.direct.get(self.target.effect_url)
        except httpx.HTTPError as exc:
            what = type(exc).__name__
            raise CheckError(f"--effect {self.target.effect_url}: cannot read it ({what})") from None
        try:
            return self.target.read_number(resp.status_code, resp.content)
        except EffectError as exc:
            raise CheckError(str(exc)) from None

    def count(self, before: float | None, after: float | None) -> int | None:
        """Effects between two reads, in units of the baseline's one effect; None when not measured."""
        if before is None or after is None or not self.unit:
            return None
        return round((after - before) / self.unit)

    async def restart(self) -> str:
        """Run --restart-cmd, then wait until the target accepts connections again; '' or a problem."""
        assert self.restart_cmd is not None
        proc = await asyncio.create_subprocess_shell(self.restart_cmd, stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.PIPE)
        try:
            _out, err = await asyncio.wait_for(proc.communicate(), 60)
        except TimeoutError:
            proc.kill()
            return f"--restart-cmd {shlex.quote(self.restart_cmd)} ran over 60 s"
        if proc.returncode:
            tail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return f"--restart-cmd exited {proc.returncode} {tail[0]}".strip()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                await self.direct.get(self.target.effect_url or self.target.base, timeout=1)
                return ""
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        return "the target did not answer again within 20 s of the restart"


def _key_of(ex: Exchange, header: str) -> str | None:
    return next((v for k, v in ex.headers if k.lower() == header.lower()), None)


def same_body(a: bytes, b: bytes) -> bool:
    """Equal as JSON when both are JSON (key order and spacing aside), else byte for byte."""
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


@dataclass(slots=True)
class Options:
    copies: int = 5
    timeout_s: float = 10.0
    restart_cmd: str | None = None
    expiry_s: float | None = None
    run_id: str | None = None  # hex; random by default, so a re-run never meets its own old keys
    only: tuple[str, ...] = ()  # verdict names to check (with the baseline); empty: every rule
    listeners: list[Listener] = field(default_factory=list)
