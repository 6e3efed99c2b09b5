"""The Starlette app: the HTTP routes over the Desk, problem details, faults and observers."""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atm_tui.bank.core import canonical
from atm_tui.http.desk import JSON, Desk
from atm_tui.http.faults import Connections, Faults
from atm_tui.http.observe import DROPPED, INVALID, LEFT, READ, Observer, RequestRecord
from atm_tui.http.openapi import document
from atm_tui.http.problems import PROBLEM_JSON, TYPE_PREFIX, Problem
from atm_tui.http.requests import (
    MAX_BODY_BYTES,
    OPERATION_OF,
    check_media_type,
    one_key_header,
    parse_body,
    parse_client,
    parse_key,
)

log = logging.getLogger("atm_tui.http")
Endpoint = Callable[[Request], Awaitable[Response]]


class _NoReply(Response):
    """The dropped reply: the connection is already closed, so nothing is sent."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class ObserveMiddleware:
    """Hands every observer one RequestRecord per HTTP request, once its answer went out."""

    def __init__(self, app: ASGIApp, observers: list[Observer]) -> None:
        self.app = app
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def tap(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tap)
        finally:
            if self.observers:
                self._tell(scope, status)

    def _tell(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        client = scope.get("client")
        default = READ if 200 <= status < 300 else INVALID
        record = RequestRecord(
            client=f"{client[0]}:{client[1]}" if client else "?",
            method=str(scope.get("method", "")),
            # As sent (%2F stays %2F): the decoded path could name a route that was never asked for.
            path=bytes(scope.get("raw_path") or b"").decode("latin-1") or str(scope.get("path", "")),
            key=state.get("atm_key"),
            status=status,
            outcome=state.get("atm_outcome", default),
            replayed=bool(state.get("atm_replayed", False)),
            delayed_ms=int(state.get("atm_delay", 0)),
        )
        for observer in list(self.observers):
            try:
                observer(record)
            except Exception:  # an observer's bug must not turn into the client's error
                log.exception("request observer failed")


def _whole_segments(endpoint: Endpoint) -> Endpoint:
    """Refuse a path with %2F: Starlette matches the decoded path, so `A-1001%2Fwithdrawals` would
    be the account A-1001 and the route withdrawals. A slash written inside a segment is no route:
    404, as for any other path the document does not list."""

    async def guarded(request: Request) -> Response:
        raw = bytes(request.scope.get("raw_path") or b"")
        if b"%2f" in raw.lower():
            shown = raw.decode("latin-1")[:200]
            raise Problem("not-found", f"{request.method} {shown}: no such route (an encoded '/' is not"
                          " part of any route); see /openapi.json")
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None,
          media_type: str = JSON) -> Response:
    return Response(body, status_code=status, headers=headers, media_type=media_type)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Problem("body-too-large",
                      f"the body has {int(declared):,} bytes; the limit is {MAX_BODY_BYTES:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Problem("body-too-large", f"the body is over the limit of {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _await_disconnect(request: Request) -> None:
    """After aborting the transport: let uvicorn see the disconnect, so it sends nothing itself."""
    try:
        async with asyncio.timeout(2):
            while (await request.receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


def create_app(desk: Desk, faults: Faults | None = None, connections: Connections | None = None,
               observers: Sequence[Observer] = ()) -> Starlette:
    """The bank's HTTP API. `observers` is a live list: append to it to watch requests."""
    faults = faults if faults is not None else Faults()
    watchers = observers if isinstance(observers, list) else list(observers)

    def write_endpoint(operation: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            account_id = request.path_params["account_id"]
            key = parse_key(one_key_header(request.headers.getlist("idempotency-key")))
            request.state.atm_key = key
            client = parse_client(request.headers.get("client-id"))
            check_media_type(request.headers.get("content-type"))
            try:
                body = await _read_body(request)
            except ClientDisconnect:
                # The client closed the connection before its body was complete: nobody is left
                # to answer and nothing was written. The observer's line says so.
                request.state.atm_outcome = LEFT
                return _NoReply()
            fields = parse_body(operation, body)
            delay = faults.take_delay()
            request.state.atm_delay = delay
            answer = await desk.write(operation, account_id, key, fields, delay_ms=delay, client=client)
            request.state.atm_outcome = answer.outcome
            request.state.atm_replayed = answer.replayed
            if answer.handled and faults.take_drop():
                request.state.atm_outcome = DROPPED
                if connections is not None and connections.abort(request.scope.get("client")):
                    await _await_disconnect(request)
                    return _NoReply()
            return _json(answer.body, answer.status, answer.headers, answer.media_type)

        endpoint.__name__ = f"post_{operation}"
        return endpoint

    async def get_account(request: Request) -> Response:
        return _json(await desk.balance(request.path_params["account_id"]))

    async def get_transaction(request: Request) -> Response:
        key = parse_key(request.path_params["key"])
        account = request.query_params.get("account")
        return _json(await desk.status(key, account))

    spec = canonical(document()).encode()

    async def get_openapi(request: Request) -> Response:
        return _json(spec)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        if not hasattr(request.state, "atm_outcome"):
            request.state.atm_outcome = INVALID
        return _json(exc.body(), exc.status, exc.headers, PROBLEM_JSON)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code)
        if slug is not None:
            detail = f"{request.method} {request.url.path}: " + (
                "no such route; see /openapi.json" if slug == "not-found" else "method not allowed here")
            return await on_problem(request, Problem(slug, detail, headers=dict(exc.headers or {})))
        phrase = http.HTTPStatus(exc.status_code).phrase
        body = canonical({"type": "about:blank", "title": phrase, "status": exc.status_code,
                          "detail": str(exc.detail)}).encode()
        return _json(body, exc.status_code, dict(exc.headers or {}), PROBLEM_JSON)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("request failed: %r", exc)  # one line; the client gets no traceback either
        body = canonical({"type": TYPE_PREFIX + "internal", "title": "Internal error", "status": 500,
                          "detail": "the bank failed to answer; the request's transaction rolled back"})
        return _json(body.encode(), 500, media_type=PROBLEM_JSON)

    routes = [Route(f"/accounts/{{account_id}}/{name}", _whole_segments(write_endpoint(op)), methods=["POST"])
              for name, op in OPERATION_OF.items()]
    routes += [
        Route("/accounts/{account_id}", _whole_segments(get_account), methods=["GET"]),
        # A key may hold '/' (any printable ASCII), so this route takes the rest of the path.
        Route("/transactions/{key:path}", get_transaction, methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ObserveMiddleware, observers=watchers)],
        exception_handlers={Problem: on_problem, HTTPException: on_http_error, Exception: on_crash},
    )
    # A path with a trailing or encoded slash is not a route: answer 404 as documented, not a
    # 307 redirect the OpenAPI document does not promise.
    app.router.redirect_slashes = False
    return app
