"""`atm-tui client` (an HTTP ATM, a student's, or a class of them): its flags, and running it."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from atm_tui.argtypes import client_name, int_in, new_client_name

if TYPE_CHECKING:
    from atm_tui.http.student import StudentConfig
from atm_tui.http.cli import fail


def bank_url(text: str) -> str:
    """An http:// or https:// URL with a host, e.g. http://127.0.0.1:8000."""
    import httpx

    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bank URL; use e.g. http://127.0.0.1:8000")
    if url.port is not None and not 1 <= url.port <= 65_535:
        raise argparse.ArgumentTypeError(
            f"{text!r}: port {url.port} is out of range; use a port from 1 to 65,535, e.g. http://127.0.0.1:8000")
    return str(url).rstrip("/")


MAX_PREFIX = 100  # with a 13-digit number the key stays far inside the bank's 255 characters


def key_prefix(text: str) -> str:
    """The start of every key the client mints: visible ASCII, as an Idempotency-Key must be."""
    if len(text) > MAX_PREFIX:
        raise argparse.ArgumentTypeError(
            f"a prefix of {len(text):,} characters is too long; use at most {MAX_PREFIX} visible ASCII"
            " characters (letters, digits, punctuation), e.g. T")
    bad = next((ch for ch in text if not "!" <= ch <= "~"), None)
    if bad is not None:
        raise argparse.ArgumentTypeError(
            f"{text!r} holds {bad!r}; a key goes in an HTTP header, so use only visible ASCII characters"
            " (letters, digits, punctuation; no spaces), e.g. T")
    return text


def account_id(text: str) -> str:
    """An account id as the bank names them (A-1001): it goes into the URL's path."""
    from atm_tui.http.requests import ACCOUNT_PATTERN, MAX_ACCOUNT_LENGTH

    if not ACCOUNT_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not an account id; use 1 to {MAX_ACCOUNT_LENGTH} letters, digits, '-' or '_',"
            " e.g. A-1001")
    return text


def amount(text: str) -> int:
    from atm_tui.bank.money import AmountError, parse_amount

    try:
        return parse_amount(text)
    except AmountError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace(f"amount {text!r} ", f"{text!r} ")) from None


def add_client_parser(sub: argparse._SubParsersAction) -> None:
    from atm_tui.http.retry import RETRY_POLICIES

    p = sub.add_parser("client", help="an ATM sending withdrawals to `atm-tui serve` over real HTTP",
                       description="Withdraw over HTTP with an Idempotency-Key per withdrawal, retrying"
                                   " timeouts and lost replies with the same key; then ask the bank.")
    p.add_argument("--bank", type=bank_url, required=True, metavar="URL",
                   help="the bank, e.g. http://127.0.0.1:8000")
    p.add_argument("--account", type=account_id, default="A-1001", metavar="ID",
                   help="account (default A-1001)")
    p.add_argument("--withdrawals", type=int_in(0, 1_000_000, "a count"), default=1, metavar="N",
                   help="withdrawals to send, one after another (default 1)")
    p.add_argument("--amount", type=amount, default=5_000, metavar="RS",
                   help="rupees per withdrawal, a multiple of 100 (default 5000)")
    p.add_argument("--name", type=client_name, default=None, metavar="NAME",
                   help="this ATM's Client-Id (default atm-<random>, new each run); its keys are its own")
    p.add_argument("--prefix", type=key_prefix, default=None, metavar="TEXT",
                   help=f"key prefix, up to {MAX_PREFIX} visible ASCII characters (default NAME-T:"
                   " atm-1a2b3c4d-T123, ...; T gives T123 as in the lesson, which another client's run"
                   " then cannot use)")
    p.add_argument("--first-id", type=int_in(0, 10**12, "an id number"), default=123, metavar="N",
                   help="number of the first key (default 123: T123)")
    p.add_argument("--timeout", type=int_in(1, 600_000, "milliseconds"), default=3_000, metavar="MS",
                   help="wall-clock ms to wait for a reply (default 3000)")
    p.add_argument("--max-attempts", type=int_in(1, 100, "a count"), default=3, metavar="N",
                   help="attempts per withdrawal, the first included (default 3)")
    p.add_argument("--retry", choices=RETRY_POLICIES, default="backoff",
                   help="retry policy (default backoff, with full jitter)")
    p.add_argument("--backoff-base", type=int_in(0, 600_000, "milliseconds"), default=1_000, metavar="MS",
                   help="backoff before the first retry, wall-clock ms (default 1000)")
    p.add_argument("--backoff-cap", type=int_in(0, 600_000, "milliseconds"), default=8_000, metavar="MS",
                   help="the longest backoff between attempts, wall-clock ms (default 8000)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1, "a seed"), default=0, metavar="N",
                   help="seed of the backoff's jitter")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--check", action="store_true", help="exit 1 if a key was debited twice or lost")
    add_class_options(p)


def probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability; use a number from 0 to 1, e.g. 0.3")
    return p


def add_class_options(p: argparse.ArgumentParser) -> None:
    """The student's ATM (`--interactive`) and a class at once (`--clients N`), with the link's faults."""
    p.add_argument("--interactive", action="store_true",
                   help="a small ATM app: w withdraw, h/H lose a reply/request, u send twice,"
                        " r retry, s status")
    p.add_argument("--ask-name", action="store_true",
                   help="with --interactive: ask the name first (atm-tui web)")
    p.add_argument("--clients", type=int_in(1, 500, "a count of clients"), default=None, metavar="N",
                   help="run N named clients at once (a class rehearsal), then the bank's exactly-once check")
    p.add_argument("--drop-request", type=probability, default=0.0, metavar="P",
                   help="with --clients: chance each request is lost before the bank (default 0)")
    p.add_argument("--drop-reply", type=probability, default=0.0, metavar="P",
                   help="with --clients: chance each reply is lost after the bank answered (default 0)")
    p.add_argument("--duplicate", type=probability, default=0.0, metavar="P",
                   help="with --clients: chance each request is sent twice (default 0)")


def student_config(args: argparse.Namespace) -> StudentConfig:
    from atm_tui.http.student import StudentConfig

    return StudentConfig(url=args.bank, name=args.name or new_client_name("atm"), account=args.account,
                         amount=args.amount, first_id=args.first_id, timeout_ms=args.timeout,
                         retry=args.retry,
                         max_attempts=args.max_attempts, backoff_base=args.backoff_base,
                         backoff_cap=args.backoff_cap, seed=args.seed)


def run_class_cli(args: argparse.Namespace) -> int:
    """`atm-tui client --clients N`: N named clients at once, their outcomes and the bank's check."""
    import json

    import httpx

    from atm_tui.http.class_run import ClassConfig, report_lines, run_class

    if args.interactive:
        return fail("--clients runs a class headless; --interactive is one student's app: pick one")
    template = student_config(args)
    template.name = args.name or "student"
    cfg = ClassConfig(template, clients=args.clients, withdrawals=args.withdrawals,
                      drop_request=args.drop_request, drop_reply=args.drop_reply, duplicate=args.duplicate)
    try:
        report = asyncio.run(run_class(cfg))
    except httpx.HTTPError as exc:
        return fail(f"--bank {args.bank}: cannot talk to the bank ({exc or type(exc).__name__});"
                     " is `atm-tui serve` running there?")
    if args.json:
        print(json.dumps({"bank": args.bank, **report.to_dict()}))
    else:
        print("\n".join(report_lines(report, args.bank)))
    return 1 if args.check and not report.ok else 0


def run_client(args: argparse.Namespace) -> int:
    import json

    if args.clients is not None:
        return run_class_cli(args)
    if args.drop_request or args.drop_reply or args.duplicate:
        return fail("--drop-request, --drop-reply and --duplicate go with --clients N"
                     " (one client's faults: `atm-tui serve --drop-next`,"
                     " or keys h, H, u with --interactive)")

    import httpx

    from atm_tui.bank.money import rupees
    from atm_tui.http.client import ClientConfig, run

    name = args.name or new_client_name("atm")
    prefix = args.prefix if args.prefix is not None else f"{name}-T"
    cfg = ClientConfig(url=args.bank, account=args.account, withdrawals=args.withdrawals, amount=args.amount,
                       name=name, prefix=prefix, first_id=args.first_id, timeout_ms=args.timeout,
                       retry=args.retry,
                       max_attempts=args.max_attempts, backoff_base=args.backoff_base,
                       backoff_cap=args.backoff_cap, seed=args.seed)
    try:
        report = asyncio.run(run(cfg))
    except httpx.HTTPError as exc:
        return fail(f"--bank {args.bank}: cannot talk to the bank ({exc or type(exc).__name__});"
                     " is `atm-tui serve` running there?")
    if args.json:
        print(json.dumps({"bank": args.bank, **report.to_dict()}))
    else:
        d = report.to_dict()
        o = d["outcomes"]
        print(f"bank {args.bank}, account {args.account}, client {name}: {d['withdrawals']:,} withdrawals,"
              f" {d['attempts']:,} attempts over HTTP")
        print("answers: " + ", ".join(f"{n:,} {what}" for what, n in d["answers"].items()))
        print(f"ATM: {o['dispensed']:,} dispensed, {o['declined']:,} declined, {o['unknown']:,} unknown,"
              f" {o['refused']:,} refused")
        if report.resolved:
            print("status query for the unknown ones: "
                  + ", ".join(f"{k} {s}" for k, s in sorted(report.resolved.items())))
        if report.balance_before is not None and report.balance_after is not None:
            print(f"balance: {rupees(report.balance_before)} -> {rupees(report.balance_after)}")
        if report.ok:
            print("exactly-once: every key debited at most once, every dispensed key exactly once")
        else:
            print(f"exactly-once VIOLATED: doubled {report.doubled}, dispensed without this client's"
                  f" debit {report.unbacked}")
        print(f"{report.elapsed:.3f} s")
    return 1 if args.check and not report.ok else 0
