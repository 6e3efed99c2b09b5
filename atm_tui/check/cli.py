"""`atm-tui check BASE_URL`: its flags, and running it (atm_tui/cli/ only registers and dispatches)."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from atm_tui.argtypes import int_in

if TYPE_CHECKING:
    from atm_tui.check.target import Target

EXIT_USAGE = 2
EXIT_BROKEN = 1
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name or method (RFC 9110 token)


def _http_url(text: str, *, query: bool) -> str | None:
    import httpx

    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if url.scheme not in ("http", "https") or not url.host or url.fragment or (url.query and not query):
        return None
    return str(url)


def server_url(text: str) -> str:
    url = _http_url(text, query=False)
    if url is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a server URL; use e.g. http://127.0.0.1:8000")
    return url.rstrip("/")


def effect_url(text: str) -> str:
    url = _http_url(text, query=True)
    if url is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL to GET; use e.g. http://127.0.0.1:8000/count")
    return url


def _path(text: str) -> str:
    if not text.startswith("/") or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r}: use a path that starts with /, e.g. /payments")
    return text


def _json_body(text: str) -> str:
    try:
        json.loads(text.replace("{n}", "1"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON (with {{n}} read as a number);"
                                         " e.g. '{\"amount\": 100}'") from None
    return text


def _token(what: str) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if not _TOKEN.match(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}; use letters, digits and -")
        return text
    return convert


def _method(text: str) -> str:
    if not _TOKEN.match(text) or text.upper() in ("GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"):
        raise argparse.ArgumentTypeError(f"{text!r}: use a write method, such as POST, PUT, PATCH or DELETE")
    return text.upper()


def _send_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not _TOKEN.match(name.strip()) or not value.strip().isprintable():
        raise argparse.ArgumentTypeError(f"{text!r}: use 'Name: value', e.g. 'Authorization: Bearer x'")
    return name.strip(), value.strip()


def _pointer(text: str) -> str:
    if text and not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON pointer; use e.g. /balance or /data/0/n")
    return text


def _seconds(lo: float, hi: float) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not lo <= value <= hi:  # refuses nan and inf too
            raise argparse.ArgumentTypeError(f"{text!r}: use seconds from {lo:g} to {hi:g}")
        return value
    return convert


def _run_id(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{1,12}", text):
        raise argparse.ArgumentTypeError(f"{text!r}: use 1 to 12 lowercase hex digits, e.g. 3fa2c1")
    return text


def _rule_name(text: str) -> str:
    from atm_tui.check.rules import RULE_NAMES

    if text not in RULE_NAMES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rule; use one of {', '.join(RULE_NAMES)}")
    return text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check any Idempotency-Key server against the lesson's rules, through a faulty proxy",
        description="Send the lesson's faults (a lost reply, a lost request, a duplicate, a late original,"
                    " N at once) through a fault-injecting proxy on 127.0.0.1 to the server at BASE_URL,"
                    " and judge each rule by its answers and by the effect number. Exit 0 when every"
                    " required rule holds, 1 when one is broken.")
    p.add_argument("base", type=server_url, metavar="BASE_URL", help="the server, e.g. http://127.0.0.1:8000")
    p.add_argument("--path", type=_path, default=None, metavar="PATH",
                   help="the write endpoint (default /accounts/A-1001/withdrawals, `atm-tui serve`'s)")
    p.add_argument("--method", type=_method, default="POST", help="the write method (default POST)")
    p.add_argument("--body", type=_json_body, default=None, metavar="JSON",
                   help="the request body; {n} in it becomes a number new to each request"
                   " (default {\"amount\": 100})")
    p.add_argument("--other-body", type=_json_body, default=None, metavar="JSON",
                   help="another body for the mismatch rule (default: the body's {n} changed, else its first"
                   " number doubled)")
    p.add_argument("--decline-body", type=_json_body, default=None, metavar="JSON",
                   help="a body the server refuses for good (a decline), for the decline-policy rule")
    p.add_argument("--header", type=_token("a header name"), default="Idempotency-Key", metavar="NAME",
                   help="the key's header (default Idempotency-Key)")
    p.add_argument("--send-header", type=_send_header, action="append", default=[], metavar="'NAME: VALUE'",
                   help="another header for every request (repeatable), e.g. authorisation")
    p.add_argument("--effect", type=effect_url, default=None, metavar="URL",
                   help="a GET whose JSON number (a counter, a balance) the request changes; read before and"
                   " after each rule to count effects (default for `atm-tui serve`: the account)")
    p.add_argument("--effect-pointer", type=_pointer, default=None, metavar="POINTER",
                   help="where the number is in that JSON, an RFC 6901 pointer (default: /balance for"
                   " `atm-tui serve`'s account, else the whole document)")
    p.add_argument("--mismatch-status", type=int_in(400, 499, "an HTTP status"), action="append",
                   default=None, metavar="N", help="the status a reused key with another body must get"
                   " (repeatable; default 422, the IETF draft's)")
    p.add_argument("--key-optional", action="store_true",
                   help="the endpoint also takes requests without a key: report, do not require, a 400")
    p.add_argument("--copies", type=int_in(2, 50, "a count"), default=5, metavar="N",
                   help="same-key requests sent at once by the concurrency rule (default 5)")
    p.add_argument("--timeout", type=_seconds(0.1, 600), default=10.0, metavar="SECONDS",
                   help="how long to wait for an answer (default 10)")
    p.add_argument("--restart-cmd", default=None, metavar="CMD",
                   help="a shell command that restarts the server (and returns); checks a key survives it")
    p.add_argument("--expiry-probe", type=_seconds(0, 3600), default=None, metavar="SECONDS",
                   help="resend a key this long after its first use and report whether it was remembered")
    p.add_argument("--run-id", type=_run_id, default=None, metavar="HEX",
                   help="the run id in every key (default random, so a re-run never meets old keys)")
    p.add_argument("--only", type=_rule_name, action="append", default=None, metavar="RULE",
                   help="check only this rule (repeatable; the baseline always runs first)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--watch", action="store_true",
                   help="draw the run live in the app's network diagram (q quits); the table follows")
    p.add_argument("--brief", action="store_true", help="the table only, without each rule's curl lines")


def _fail(message: str) -> int:
    sys.stderr.write(f"atm-tui check: error: {message}\n")
    return EXIT_USAGE


def target_of(args: argparse.Namespace) -> Target:
    from atm_tui.check.target import Target

    return Target.with_defaults(
        args.base, path=args.path, body=args.body, effect_url=args.effect, effect_pointer=args.effect_pointer,
        decline_body=args.decline_body, method=args.method, other_body=args.other_body,
        key_header=args.header,
        headers=tuple(args.send_header), key_optional=args.key_optional,
        mismatch_status=tuple(args.mismatch_status or (422,)))


def run(args: argparse.Namespace) -> int:
    from atm_tui.check.probe import CheckError, Options
    from atm_tui.check.report import as_json, table
    from atm_tui.check.runner import run_check

    if args.only and "restart-keeps-key" in args.only and args.restart_cmd is None:
        return _fail("--only restart-keeps-key needs --restart-cmd CMD, a command that restarts the server")
    if args.only and "key-expiry" in args.only and args.expiry_probe is None:
        return _fail("--only key-expiry needs --expiry-probe SECONDS")
    if args.watch and args.json:
        return _fail("--watch draws the run on screen; --json prints it for a program: pick one")
    target = target_of(args)
    if args.effect_pointer is not None and target.effect_url is None:
        return _fail("--effect-pointer reads the number at --effect URL; add --effect")
    options = Options(copies=args.copies, timeout_s=args.timeout, restart_cmd=args.restart_cmd,
                      expiry_s=args.expiry_probe, run_id=args.run_id, only=tuple(args.only or ()))
    if args.watch:
        from atm_tui.check.watch import run_watch

        code, finished, problem = run_watch(target, options)
        if problem:
            return _fail(problem)
        if finished is not None:
            print(table(finished, details=not args.brief), flush=True)
        return code
    try:
        outcome = asyncio.run(run_check(target, options))
    except CheckError as exc:
        return _fail(str(exc))
    print(as_json(outcome) if args.json else table(outcome, details=not args.brief), flush=True)
    return 0 if outcome.ok else EXIT_BROKEN
