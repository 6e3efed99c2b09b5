"""The checker's proxy: each fault happens on a real socket, seen from both ends.

The target here is a real uvicorn on 127.0.0.1 that records every arrival; the client is httpx
talking TCP to the proxy. Each test asserts what the target received and what the client got.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atm_tui.check.proxy import FAULT_HEADER, Fault, FaultProxy, Hop


@dataclass
class Upstream:
    """What the target saw: one entry per arrival (its headers), and the most at once."""

    url: str = ""
    arrivals: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_at_once: int = 0
    barrier: int = 1  # an arrival waits (bounded) until this many are in flight together


def _app(up: Upstream) -> Starlette:
    async def echo(request: Request) -> Response:
        up.arrivals.append(dict(request.headers))
        n = len(up.arrivals)
        up.in_flight += 1
        up.most_at_once = max(up.most_at_once, up.in_flight)
        try:
            deadline = time.monotonic() + 2
            while up.in_flight < up.barrier and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            return JSONResponse({"arrival": n, "body": (await request.body()).decode()}, 201,
                                {"X-Arrival": str(n)})
        finally:
            up.in_flight -= 1

    return Starlette(routes=[Route("/echo", echo, methods=["POST"])])


@contextmanager
def upstream(barrier: int = 1) -> Iterator[Upstream]:
    up = Upstream(barrier=barrier)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    up.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(_app(up), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.005)
    try:
        yield up
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@asynccontextmanager
async def through(up: Upstream) -> AsyncIterator[tuple[FaultProxy, httpx.AsyncClient, list[Hop]]]:
    hops: list[Hop] = []
    async with FaultProxy(up.url) as proxy:
        proxy.listeners.append(hops.append)
        async with httpx.AsyncClient(base_url=proxy.url, timeout=5) as client:
            yield proxy, client, hops


async def post(client: httpx.AsyncClient, fault: str, timeout: float = 5) -> httpx.Response:
    return await client.post("/echo", content=b'{"amount": 100}', timeout=timeout, headers={
        "Idempotency-Key": "K1", "Content-Type": "application/json", FAULT_HEADER: fault})


async def test_pass_forwards_once_and_the_fault_header_never_reaches_the_target() -> None:
    with upstream() as up:
        async with through(up) as (proxy, client, hops):
            resp = await client.post("/echo", content=b"x", headers={"Idempotency-Key": "K1"})
            assert resp.status_code == 201 and resp.json() == {"arrival": 1, "body": "x"}
            resp = await post(client, "pass")
            assert resp.json()["arrival"] == 2
    assert len(up.arrivals) == 2
    assert all(FAULT_HEADER not in a for a in up.arrivals)
    assert up.arrivals[1]["idempotency-key"] == "K1"
    assert [h.what for h in hops if h.exchange == 1] == ["request", "forwarded", "answered", "delivered"]


async def test_drop_request_never_reaches_the_target_and_the_client_sees_the_connection_close() -> None:
    with upstream() as up:
        async with through(up) as (proxy, client, hops):
            with pytest.raises(httpx.RemoteProtocolError):
                await post(client, "drop-request")
            [ex] = proxy.take()
    assert up.arrivals == []
    assert ex.answers == [] and ex.delivered is None
    assert [h.what for h in hops] == ["request", "dropped-request"]


async def test_drop_response_reaches_the_target_which_answers_and_the_client_gets_nothing() -> None:
    with upstream() as up:
        async with through(up) as (proxy, client, hops):
            with pytest.raises(httpx.RemoteProtocolError):
                await post(client, "drop-response")
            [ex] = proxy.take()
    assert len(up.arrivals) == 1  # the target did the work
    assert ex.answers[0].status == 201 and ex.answers[0].header("x-arrival") == "1"
    assert ex.delivered is None
    assert [h.what for h in hops] == ["request", "forwarded", "answered", "dropped-response"]


async def test_duplicate_reaches_the_target_twice_one_after_the_other_and_the_client_gets_the_first() -> None:
    with upstream() as up:
        async with through(up) as (proxy, client, _hops):
            resp = await post(client, "duplicate")
            [ex] = proxy.take()
    assert len(up.arrivals) == 2 and up.most_at_once == 1
    assert [a.header("x-arrival") for a in ex.answers] == ["1", "2"]
    assert resp.json()["arrival"] == 1


async def test_delay_holds_the_request_even_after_the_client_gave_up() -> None:
    with upstream() as up:
        async with through(up) as (proxy, client, _hops):
            with pytest.raises(httpx.TimeoutException):
                await post(client, "delay=300", timeout=0.05)
            assert up.arrivals == []  # the client has given up; the request is still in the proxy
            await proxy.idle()
            [ex] = proxy.take()
    assert len(up.arrivals) == 1  # and then it arrived: a late packet
    assert ex.answers[0].status == 201 and ex.client_gone


async def test_copies_reach_the_target_at_the_same_time() -> None:
    # Each arrival waits until four are in flight together: sent one by one they could not be.
    with upstream(barrier=4) as up:
        async with through(up) as (proxy, client, hops):
            resp = await post(client, "copies=4")
            [ex] = proxy.take()
    assert len(up.arrivals) == 4 and up.most_at_once == 4
    assert sorted(int(a.header("x-arrival") or 0) for a in ex.answers) == [1, 2, 3, 4]
    assert resp.status_code == 201
    assert sum(h.what == "forwarded" for h in hops) == 4


async def test_a_bad_fault_header_is_refused_with_400_naming_what_is_accepted() -> None:
    with upstream() as up:
        async with through(up) as (_proxy, client, _hops):
            resp = await post(client, "copies=0")
    assert resp.status_code == 400
    assert "use pass, drop-request, drop-response, duplicate" in resp.text
    assert up.arrivals == []


def test_fault_header_round_trips() -> None:
    for fault in (Fault(), Fault("drop-request"), Fault("delay", delay_ms=250), Fault("copies", copies=7)):
        assert Fault.parse(fault.header()) == fault
    with pytest.raises(ValueError, match="delay=MS"):
        Fault.parse("delay=abc")
