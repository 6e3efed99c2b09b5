"""`atm-tui serve` and the app's `--serve`: their flags, and running them (atm_tui/cli/ only dispatches)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from atm_tui.argtypes import file_path, int_in
from atm_tui.bank.money import MAX_BALANCE
from atm_tui.bank.schema import WALL
from atm_tui.bank.store import StoreConfig, StoreError
from atm_tui.http.desk import DEFAULT_LEASE_MS

if TYPE_CHECKING:
    from atm_tui.http.observe import RequestRecord
    from atm_tui.http.server import HttpBank

EXIT_USAGE = 2
DEFAULT_TTL_MS = 86_400_000


def host_name(text: str) -> str:
    """A host to listen on or talk to: an IP address or a name this machine resolves."""
    if not text or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a host; use an address such as 127.0.0.1")
    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"{text!r} does not resolve; use an address such as 127.0.0.1 or 0.0.0.0") from None
    return text


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the bank over HTTP with the Idempotency-Key header",
                       description="Serve the bank as an HTTP API (see /openapi.json); every POST needs an"
                                   " Idempotency-Key header.")
    p.add_argument("--host", type=host_name, default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 lets a class connect)")
    p.add_argument("--port", type=int_in(0, 65_535, "a TCP port"), default=8000, metavar="N",
                   help="TCP port (default 8000; 0 picks a free one)")
    # file_path() also takes a URL: each of its parts is a short name, and '' is still refused.
    p.add_argument("--db", type=file_path(), metavar="PATH|URL",
                   help="the bank's SQLite file (created if missing), or a PostgreSQL database as"
                        " postgresql://USER@HOST:PORT/DBNAME (tables created if missing; needs the"
                        " postgres extra)")
    p.add_argument("--fresh", action="store_true", help="start the bank again from the opening balance")
    p.add_argument("--opening-balance", type=int_in(0, MAX_BALANCE, "whole rupees"), default=50_000,
                   metavar="RS", help="opening balance of a new account (default 50000)")
    p.add_argument("--synchronous", choices=("normal", "full"), default="normal",
                   help="SQLite synchronous level in WAL mode (default normal; not used on PostgreSQL)")
    p.add_argument("--ttl", type=int_in(1, 10**12, "milliseconds"), default=DEFAULT_TTL_MS, metavar="MS",
                   help="how long a key is remembered, wall-clock ms (default 24 h)")
    p.add_argument("--drop-next", type=int_in(0, 1_000_000, "a count"), default=0, metavar="N",
                   help="commit the next N writes, then close the connection without answering")
    p.add_argument("--delay-next", type=int_in(0, 600_000, "milliseconds"), default=0, metavar="MS",
                   help="hold the next write MS ms before processing it (a retry meanwhile gets 409)")
    p.add_argument("--workers", type=int_in(1, 64, "a count of processes"), default=1, metavar="N",
                   help="uvicorn worker processes over the one file (default 1); keys in flight are"
                        " rows with a lease, so every worker answers 409 while another holds a key")
    p.add_argument("--processing", type=int_in(0, 600_000, "milliseconds"), default=0, metavar="MS",
                   help="hold every write MS ms inside the bank before it commits (default 0), so a"
                        " retry meanwhile gets 409 with Retry-After")
    p.add_argument("--lease", type=int_in(1, 3_600_000, "milliseconds"), default=DEFAULT_LEASE_MS,
                   metavar="MS", help="how long a key may stay in progress beyond its processing time before"
                   " a retry takes it over (default 5000; a worker killed mid-request frees its keys so)")
    p.add_argument("--mode", choices=("idempotent", "naive"), default="idempotent",
                   help="the bank's mode (default idempotent; naive checks no key: every delivery debits,"
                   " what `atm-tui check` must catch)")
    p.add_argument("--quiet", action="store_true", help="no line per request")


def fail(message: str) -> int:
    sys.stderr.write(f"atm-tui: error: {message}\n")
    return EXIT_USAGE


def _print_record(record: RequestRecord) -> None:
    print(record.line(), flush=True)


def run_serve(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command would pay for loading uvicorn.
    from atm_tui.bank import backend
    from atm_tui.http.faults import Faults
    from atm_tui.http.server import HttpBank, bind

    if args.workers > 1 and (args.drop_next or args.delay_next):
        return fail(f"--workers {args.workers}: --drop-next and --delay-next arm one process's faults;"
                     " use them with --workers 1 (or --processing MS for every worker)")
    db = args.db or str(Path(tempfile.mkdtemp(prefix="atm-tui-")) / "bank.db")
    config = StoreConfig(db, opening_balance=args.opening_balance, fresh=args.fresh,
                         synchronous=args.synchronous, clock=WALL)
    try:
        conn = backend.open_sync(config)
    except StoreError as exc:
        return fail(str(exc))
    if args.workers > 1:
        conn.close()
        return _serve_workers(args, db)
    try:
        try:
            sock = bind(args.host, args.port)
        except OSError as exc:
            return fail(f"--host {args.host} --port {args.port}: cannot listen there"
                         f" ({exc.strerror or exc}); pick another port or address")
        faults = Faults()
        if args.drop_next:
            faults.arm_drop(args.drop_next)
        if args.delay_next:
            faults.arm_delay(args.delay_next)
        bank = HttpBank(conn, sock, ttl_ms=args.ttl, faults=faults,
                        observers=[] if args.quiet else [_print_record], mode=args.mode,
                        processing_ms=args.processing, lease_ms=args.lease)
        naive = ", NAIVE: no key is checked" if args.mode == "naive" else ""
        print(f"atm-tui bank on {bank.url} ({backend.describe(config)}{naive},"
              f" keys kept {args.ttl:,} ms{_extras(args)}); Ctrl-C stops it", flush=True)
        try:
            asyncio.run(_serve_until_signal(bank))
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        conn.close()


async def _serve_until_signal(bank: HttpBank) -> None:
    """Serve; SIGTERM or Ctrl-C lets the requests in flight finish, then returns (exit 0).

    Our own handlers, not uvicorn's: uvicorn re-raises the signal once it has shut down, which
    would end the process by the signal instead of with status 0. A second signal stops at once.
    """
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if bank.server.should_exit:
            bank.server.force_exit = True
        bank.server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await bank.serve()


def _extras(args: argparse.Namespace) -> str:
    out = f", {args.workers} workers" if args.workers > 1 else ""
    return out + (f", processing {args.processing:,} ms" if args.processing else "")


def _serve_workers(args: argparse.Namespace, db: str) -> int:
    """N uvicorn worker processes on one socket, each with its own connection to the bank."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from atm_tui.bank import backend
    from atm_tui.http.server import GRACE_S, bind
    from atm_tui.http.workers import WorkerSettings

    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        return fail(f"--host {args.host} --port {args.port}: cannot listen there"
                     f" ({exc.strerror or exc}); pick another port or address")
    WorkerSettings(db, args.ttl, args.processing, args.lease, args.quiet, args.mode).to_env()
    config = uvicorn.Config("atm_tui.http.workers:create", factory=True, workers=args.workers, lifespan="off",
                            log_config=None, access_log=False, log_level="warning",
                            timeout_graceful_shutdown=GRACE_S)
    host, port = sock.getsockname()[:2]
    where = backend.describe(StoreConfig(db, synchronous=args.synchronous))
    print(f"atm-tui bank on http://{host}:{port} ({where},"
          f" keys kept {args.ttl:,} ms{_extras(args)}); Ctrl-C stops it", flush=True)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def add_app_serve_options(parser: argparse.ArgumentParser) -> None:
    """The app's `--serve [PORT]`: the HTTP bank in the app's process, on the file it shows."""
    parser.add_argument("--serve", nargs="?", const=8000, default=None, type=int_in(0, 65_535, "a TCP port"),
                        metavar="PORT", help="also serve the bank over HTTP (default port 8000); each"
                        " request shows in the network diagram")
    parser.add_argument("--serve-host", type=host_name, default="127.0.0.1", metavar="HOST",
                        help="address for --serve (default 127.0.0.1; 0.0.0.0 lets a class connect)")


def check_app_serve(args: argparse.Namespace) -> str | None:
    """Before the app takes the screen: can --serve listen there? Sets args.serve_at; or the error."""
    port = getattr(args, "serve", None)
    if port is None:
        args.serve_at = None
        return None
    from atm_tui.http.server import bind

    try:
        bind(args.serve_host, port).close()
    except OSError as exc:
        return (f"--serve {port} --serve-host {args.serve_host}: cannot listen there"
                f" ({exc.strerror or exc}); pick another port")
    args.serve_at = (args.serve_host, port)
    return None
