"""A gallery of small Idempotency-Key servers, one right and five broken on purpose, for `atm-tui check`.

Each serves `POST /charges` (JSON `{"amount": N}`, header `Idempotency-Key`) and `GET /effects`
(`{"count": N}`, the number of charges made: the checker's effect number). The count lives in a
SQLite file, so it survives a restart even where the keys do not. Each charge takes a little
while (PROCESSING_S), as real work does, so same-key requests sent at once really overlap.

- `good`: keys, stored replies and fingerprints in SQLite, 409 with Retry-After while in flight.
- `no-dedup`: needs the header but never looks the key up.
- `no-stored-reply`: remembers that a key was seen (and its fingerprint) but not the reply, so a
  retry gets `200 {"status": "duplicate"}` instead of the first answer.
- `memory-only`: right in every way, but the keys are a dict: a restart forgets them.
- `no-fingerprint`: replays the stored reply for a key whatever body comes with it.
- `conflict-500`: checks the key, works, then inserts it under a UNIQUE constraint: same-key
  requests at once lose the race and get a 500 instead of a 409 (the money is safe, the answer is not).

Run one as a process: `python tests/check_gallery.py KIND --db FILE --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KINDS = ("good", "no-dedup", "no-stored-reply", "memory-only", "no-fingerprint", "conflict-500")
PROCESSING_S = 0.03
RACE_S = 0.2  # conflict-500's window between its check and its insert: wide, so copies meet in it
LIMIT = 1_000_000  # a charge above this is declined for good (402)


def _connect(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, timeout=5, check_same_thread=False)
    conn.execute("CREATE TABLE IF NOT EXISTS effects (count INTEGER NOT NULL)")
    conn.execute("CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, fingerprint TEXT, status INTEGER,"
                 " body TEXT)")
    if conn.execute("SELECT count(*) FROM effects").fetchone()[0] == 0:
        conn.execute("INSERT INTO effects VALUES (0)")
    return conn


def create_app(kind: str, db: str) -> Starlette:
    assert kind in KINDS, kind
    conn = _connect(db)
    in_flight: set[str] = set()
    memory: dict[str, tuple[str, int, str]] = {}  # memory-only: key -> (fingerprint, status, body)
    seen: dict[str, str] = {}  # no-stored-reply: key -> fingerprint (no reply kept)

    def charge(amount: int, key: str | None) -> tuple[int, dict[str, Any]]:
        """The effect, inside the caller's transaction: one more charge, or a decline."""
        if amount > LIMIT:
            return 402, {"status": "declined", "reason": "over the limit", "key": key}
        conn.execute("UPDATE effects SET count = count + 1")
        count = conn.execute("SELECT count FROM effects").fetchone()[0]
        return 201, {"status": "charged", "amount": amount, "charge": count, "key": key}

    def stored(key: str) -> tuple[str, int, str] | None:
        if kind == "memory-only":
            return memory.get(key)
        row = conn.execute("SELECT fingerprint, status, body FROM keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), str(row[2]))

    def answer(status: int, payload: dict[str, Any] | str, replayed: bool = False) -> Response:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status, headers, media_type="application/json")

    async def post_charge(request: Request) -> Response:
        raw = await request.body()
        try:
            amount = int(json.loads(raw)["amount"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {\"amount\": N}"}, 400)
        key = request.headers.get("idempotency-key")
        if not key:
            return JSONResponse({"error": "Idempotency-Key header required"}, 400)
        fp = hashlib.sha256(raw).hexdigest()

        if kind == "no-dedup":
            await asyncio.sleep(PROCESSING_S)
            conn.execute("BEGIN IMMEDIATE")
            status, payload = charge(amount, key)
            conn.execute("COMMIT")
            return answer(status, payload)

        if kind == "no-stored-reply":
            if key in seen:
                if seen[key] != fp:
                    return JSONResponse({"error": "key reused with another body"}, 422)
                return JSONResponse({"status": "duplicate", "key": key}, 200)
            seen[key] = fp
            await asyncio.sleep(PROCESSING_S)
            conn.execute("BEGIN IMMEDIATE")
            status, payload = charge(amount, key)
            conn.execute("COMMIT")
            return answer(status, payload)

        if kind == "conflict-500":
            found = stored(key)
            if found is not None:
                if found[0] != fp:
                    return JSONResponse({"error": "key reused with another body"}, 422)
                return answer(found[1], found[2], replayed=True)
            await asyncio.sleep(RACE_S)  # the race: another copy passes the same check meanwhile
            conn.execute("BEGIN IMMEDIATE")
            try:
                status, payload = charge(amount, key)
                conn.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", (key, fp, status, json.dumps(payload)))
                conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK")
                return Response("Internal Server Error", 500, media_type="text/plain")
            return answer(status, payload)

        # good, memory-only, no-fingerprint: the lesson's shape, each with one thing changed
        if key in in_flight:
            return JSONResponse({"error": "in progress"}, 409, {"Retry-After": "1"})
        found = stored(key)
        if found is not None:
            if found[0] != fp and kind != "no-fingerprint":
                return JSONResponse({"error": "key reused with another body"}, 422)
            return answer(found[1], found[2], replayed=True)
        in_flight.add(key)
        try:
            await asyncio.sleep(PROCESSING_S)
            conn.execute("BEGIN IMMEDIATE")
            status, payload = charge(amount, key)
            body = json.dumps(payload)
            if kind == "memory-only":
                memory[key] = (fp, status, body)
            else:
                conn.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", (key, fp, status, body))
            conn.execute("COMMIT")
        finally:
            in_flight.discard(key)
        return answer(status, body)

    async def get_effects(request: Request) -> Response:
        return JSONResponse({"count": conn.execute("SELECT count FROM effects").fetchone()[0]})

    return Starlette(routes=[Route("/charges", post_charge, methods=["POST"]),
                             Route("/effects", get_effects, methods=["GET"])])


@contextmanager
def served(app: Starlette) -> Iterator[str]:
    """Serve an app with a real uvicorn on a free 127.0.0.1 port, in a thread; yields its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the gallery server did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def main(argv: list[str]) -> int:
    import uvicorn

    p = argparse.ArgumentParser(prog="check_gallery")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--db", required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    uvicorn.run(create_app(args.kind, args.db), host="127.0.0.1", port=args.port, log_level="warning",
                lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
