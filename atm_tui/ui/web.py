"""`atm-tui web`: the student ATM in a browser, one app process per tab, through textual-serve.

textual-serve runs a command per websocket (each browser tab gets its own `atm-tui client
--interactive --ask-name` on a pty) and serves xterm.js and its fonts from its own package.
Two things change here, for a classroom:
- its page asks a font service on the internet for Roboto Mono; ours (`web_page/app_index.html`,
  textual-serve 1.1's page with that one link replaced) declares the Roboto Mono that
  textual-serve already ships, served by this server, so nothing is fetched from outside;
- its page's URLs are absolute, built from `--host` (`http://0.0.0.0:8080/static/...` would be
  useless to a student's laptop), so ours are built from the address the browser asked for.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

PAGE_DIR = Path(__file__).resolve().parent / "web_page"
EXIT_USAGE = 2


def add_web_parser(sub: argparse._SubParsersAction) -> None:
    from atm_tui.argtypes import int_in
    from atm_tui.http.cli import host_name
    from atm_tui.http.client_cli import amount, bank_url

    p = sub.add_parser("web", help="serve the student ATM to browsers (one app per tab), for a class",
                       description="Serve the student ATM (atm-tui client --interactive) to web browsers:"
                                   " each tab asks the student's name and runs its own ATM against --bank.")
    p.add_argument("--bank", type=bank_url, required=True, metavar="URL",
                   help="the class's bank as the students' ATMs reach it, e.g. http://127.0.0.1:8000")
    p.add_argument("--host", type=host_name, default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 lets a class connect)")
    p.add_argument("--port", type=int_in(1, 65_535, "a TCP port"), default=8080, metavar="N",
                   help="TCP port (default 8080)")
    p.add_argument("--account", default="A-1001", metavar="ID", help="account (default A-1001)")
    p.add_argument("--amount", type=amount, default=5_000, metavar="RS",
                   help="rupees per withdrawal, a multiple of 100 (default 5000)")
    p.add_argument("--timeout", type=int_in(1, 600_000, "milliseconds"), default=3_000, metavar="MS",
                   help="wall-clock ms each student's ATM waits for a reply (default 3000)")


def student_command(args: argparse.Namespace) -> str:
    """The command each browser tab runs: this Python, this package, the student app."""
    return shlex.join([sys.executable, "-m", "atm_tui", "client", "--interactive", "--ask-name",
                       "--bank", args.bank, "--account", args.account, "--amount", str(args.amount),
                       "--timeout", str(args.timeout)])


def make_server(args: argparse.Namespace) -> Any:
    """textual-serve's Server with our page, its URLs taken from each request's Host header."""
    from aiohttp import web
    from textual_serve.server import Server

    class ClassServer(Server):
        async def handle_index(self, request: web.Request) -> Any:
            # The page's URLs name the host the browser used (the teacher's address), not --host.
            # Nothing awaits between setting public_url and the parent rendering with it.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    return ClassServer(student_command(args), host=args.host, port=args.port,
                       title="atm-tui student ATM", templates_path=PAGE_DIR)


def run_web(args: argparse.Namespace) -> int:
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        sys.stderr.write("atm-tui web: error: textual-serve is not installed; install the web extra:"
                         " pip install 'atm-tui[web]'\n")
        return EXIT_USAGE
    from atm_tui.http.server import bind

    try:
        bind(args.host, args.port).close()
    except OSError as exc:
        sys.stderr.write(f"atm-tui web: error: --host {args.host} --port {args.port}: cannot listen there"
                         f" ({exc.strerror or exc}); pick another port or address\n")
        return EXIT_USAGE
    server = make_server(args)
    print(f"students open http://{args.host}:{args.port}/ (each tab is one ATM against {args.bank});"
          " Ctrl-C stops it", flush=True)
    server.serve()
    return 0
