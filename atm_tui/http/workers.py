"""`serve --workers N`: the app each uvicorn worker process builds over the one shared bank.

uvicorn starts the workers as fresh processes (spawn) and hands each the listening socket; each
imports `create`, opens its own connection to the bank (the SQLite file, or the PostgreSQL
database: bank/backend.py) and serves with its own Desk. The workers share nothing but the bank:
a key in flight is a row with a lease there (desk.py), so any worker answers 409 while another
holds it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass

from starlette.applications import Starlette

ENV = "ATM_TUI_SERVE_WORKER"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    db: str
    ttl_ms: int
    processing_ms: int
    lease_ms: int
    quiet: bool
    mode: str = "idempotent"

    def to_env(self) -> None:
        os.environ[ENV] = json.dumps(asdict(self))


def create() -> Starlette:
    """The uvicorn app factory of one worker (settings from the environment the parent set)."""
    from atm_tui.bank.backend import open_sync
    from atm_tui.bank.core import Mode
    from atm_tui.bank.schema import WALL
    from atm_tui.bank.store import StoreConfig
    from atm_tui.http.app import create_app
    from atm_tui.http.desk import Desk
    from atm_tui.http.observe import RequestRecord

    s = WorkerSettings(**json.loads(os.environ[ENV]))
    conn = open_sync(StoreConfig(s.db, clock=WALL))
    mode: Mode = "naive" if s.mode == "naive" else "idempotent"
    desk = Desk(conn, ttl_ms=s.ttl_ms, processing_ms=s.processing_ms, lease_ms=s.lease_ms, mode=mode)

    def show(record: RequestRecord) -> None:
        sys.stdout.write(f"[{os.getpid()}] {record.line()}\n")
        sys.stdout.flush()

    return create_app(desk, observers=[] if s.quiet else [show])
