"""`atm-tui simulate`: the headless engine run (the ATM's, or the log pipeline's with --pipeline log)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from atm_tui.argtypes import new_client_name
from atm_tui.bank.money import rupees
from atm_tui.bank.store import StoreConfig, StoreError, describe_error
from atm_tui.cli.pipeline import run_pipeline, stray_pipeline_option
from atm_tui.paths import home_relative, problem_of_new_file, quoted
from atm_tui.sim.atm.config import AtmConfig, BankTiming, LinkConfig, SimConfig

EXIT_USAGE = 2  # bad input: one line naming it
EXIT_VIOLATED = 1  # --check found a broken invariant


def fail(message: str) -> int:
    sys.stderr.write(f"atm-tui: error: {message}\n")
    return EXIT_USAGE


def _n(count: int, word: str, plural: str | None = None) -> str:
    """'1 withdrawal', '5,000 withdrawals'."""
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _default_db() -> str:
    return str(Path(tempfile.mkdtemp(prefix="atm-tui-")) / "bank.db")


def run_simulate(args: argparse.Namespace, defaults: Callable[[], dict[str, object]]) -> int:
    """Run `simulate`; `defaults` gives the parser's defaults (the pipeline reads which flags were set)."""
    from atm_tui.sim.report import verdict_lines
    from atm_tui.sim.run import RunOptions, simulate

    if args.pipeline:
        return run_pipeline(args, defaults())
    stray = stray_pipeline_option(args)
    if stray:
        return fail(f"{stray} belongs to the log pipeline; add --pipeline log")
    if args.amount is None:
        args.amount = 5_000

    if args.trace is not None:
        problem = problem_of_new_file(args.trace, "--trace")
        if problem:
            return fail(problem)
    db = args.db or _default_db()
    if args.trace is not None:
        from atm_tui.sim.trace_file import trace_problem

        problem = trace_problem(args.trace, db)
        if problem:
            return fail(problem)
    config = SimConfig(
        seed=args.seed,
        mode=args.mode,
        amount=args.amount,
        request=LinkConfig(drop=args.drop_request, duplicate=args.duplicate),
        reply=LinkConfig(drop=args.drop_reply),
        atm=AtmConfig(timeout=args.timeout, retry=args.retry, max_attempts=args.max_attempts,
                      client=args.name or new_client_name("simulate")),
        bank=BankTiming(processing=args.processing, ttl=args.ttl),
    )
    store = StoreConfig(
        db, opening_balance=args.opening_balance, fresh=args.fresh, synchronous=args.synchronous
    )
    options = RunOptions(
        withdrawals=args.withdrawals,
        drop_next_replies=args.drop_next_replies,
        drop_next_requests=args.drop_next_requests,
        duplicate_next_requests=args.duplicate_next,
        crash_in_gap=args.crash_in_gap,
        hard_crash=args.hard_crash,
        first_id=args.first_id,
        trace=args.trace,
        bridge=args.bridge,
    )
    if args.crash_in_gap and args.mode != "split":
        sys.stderr.write(
            f"atm-tui: note: --crash-in-gap acts only in --mode split; the {args.mode} bank has no gap\n"
        )
    if args.hard_crash and not args.crash_in_gap:
        sys.stderr.write("atm-tui: note: --hard-crash acts only with --crash-in-gap N\n")
    if args.hard_crash and args.crash_in_gap:
        # Said before the run: the process is about to be killed, and the file is the evidence.
        sys.stderr.write(f"atm-tui: the bank will be killed in the gap; its file: {home_relative(db)}\n")
    try:
        result = asyncio.run(simulate(config, store, options))
    except StoreError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        # The file became unusable mid-run (another program took the lock, the disk filled up).
        # The failed transaction rolled back, so what is stored stays whole.
        return fail(str(describe_error(db, exc)))
    except OSError as exc:
        # Only the trace file is written outside SQLite: a full disk or a device that refuses it.
        shown = quoted(args.trace or "")
        return fail(f"--trace {shown}: cannot write it ({exc.strerror or exc}); pick another path")
    report = result.report
    if args.json:
        out = {"db": db, "seed": args.seed, "mode": args.mode, "client": config.atm.client,
               **result.to_dict()}
        print(json.dumps(out, sort_keys=False))
    else:
        c = report.counts
        shown_db = home_relative(db)
        print(f"database: {shown_db} (WAL, synchronous={result.synchronous}); client {config.atm.client}")
        print(
            f"mode {args.mode}, seed {args.seed}: {_n(c['withdrawals'], 'withdrawal')},"
            f" {_n(c['attempts'], 'attempt')}, {_n(c['deliveries'], 'delivery', 'deliveries')} at the bank"
        )
        crashes = f", {_n(c['crashes'], 'crash', 'crashes')} in the gap" if c["crashes"] else ""
        print(
            f"bank: {c['processed']:,} processed, {c['replayed']:,} replayed,"
            f" {c['in_progress']:,} in progress, {c['rejected']:,} rejected,"
            f" {c['declined']:,} declined{crashes}"
        )
        last = f" (last: {result.last_txn})" if result.last_txn else ""
        print(f"ATM: {c['dispensed']:,} dispensed, {c['unknown']:,} unknown{last}")
        print(
            f"balance: {rupees(report.balance_before)} -> {rupees(report.balance_after)}"
            f" ({_n(report.ledger_rows, 'ledger row')})"
        )
        print("\n".join(verdict_lines(report.invariants)))
        print(f"{result.elapsed:.3f} s, {result.to_dict()['deliveries_per_second']:,} deliveries/s")
    if args.check and not report.ok:
        return EXIT_VIOLATED
    return 0
