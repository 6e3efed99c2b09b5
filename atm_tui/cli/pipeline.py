"""`atm-tui simulate --pipeline log`: the log pipeline's options, its headless run and its report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from atm_tui.argtypes import int_in, probability
from atm_tui.bank.money import rupees
from atm_tui.bank.pipeline_store import CONSUMER_MODES
from atm_tui.bank.store import StoreConfig, StoreError, describe_error

PIPELINES = ("log",)
DEFAULT_MESSAGES = 20
DEFAULT_AMOUNT = 500  # 20 messages, even all charged twice, stay far inside the default Rs 50,000
PIPELINE_OPTIONS = (
    "messages", "producer_idempotent", "consumer", "lost_ack", "crash_before_commit", "zombie", "partitions",
)  # fmt: skip
# Options of the ATM run that mean nothing to the pipeline: naming one with --pipeline is a mistake.
ATM_OPTIONS = (
    "withdrawals", "mode", "drop_request", "drop_reply", "duplicate", "drop_next_replies",
    "drop_next_requests", "duplicate_next", "max_attempts", "retry", "timeout", "processing",
    "first_id", "crash_in_gap", "hard_crash", "name",
)  # fmt: skip


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """The pipeline's flags on `simulate`. Defaults are None so a stray flag can be named."""
    g = p.add_argument_group("log pipeline (with --pipeline log)")
    g.add_argument("--pipeline", choices=PIPELINES, help="run the log pipeline (producer, broker, consumer)")
    g.add_argument(
        "--messages",
        type=int_in(0, 1_000_000, "a count"),
        metavar="N",
        help=f"messages the payment service produces (default {DEFAULT_MESSAGES})",
    )
    g.add_argument(
        "--producer-idempotent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="producer id, epoch and sequence numbers, so the broker drops resends (default on)",
    )
    g.add_argument(
        "--consumer",
        choices=CONSUMER_MODES,
        help="naive (charge, then commit), idempotent (dedup by message id) or transactional"
        " (charge and offset in one transaction); default idempotent",
    )
    g.add_argument(
        "--lost-ack", type=probability(), metavar="P", help="chance the broker's acknowledgement is lost"
    )
    g.add_argument(
        "--crash-before-commit",
        type=probability(below_one=True),
        metavar="P",
        help="chance the consumer dies after processing a message, before committing its offset",
    )
    g.add_argument(
        "--zombie",
        type=probability(below_one=True),
        metavar="P",
        help="chance the consumer freezes before committing, is replaced, then wakes and commits",
    )
    g.add_argument(
        "--partitions",
        type=int_in(1, 64, "a count"),
        metavar="N",
        help="partitions of the payments topic (default 1)",
    )


def _fail(message: str) -> int:
    sys.stderr.write(f"atm-tui: error: {message}\n")
    return 2


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def stray_pipeline_option(args: argparse.Namespace) -> str | None:
    """The first pipeline flag given without --pipeline, if any."""
    for dest in PIPELINE_OPTIONS:
        if getattr(args, dest, None) is not None:
            return _flag(dest)
    return None


def run_pipeline(args: argparse.Namespace, atm_defaults: dict[str, object]) -> int:
    """Run `simulate --pipeline log`; 0, or 1 if --check and an invariant fails, or 2 on bad input."""
    from atm_tui.sim.pipeline.pipeline import PipelineConfig
    from atm_tui.sim.pipeline_run import simulate_pipeline
    from atm_tui.sim.report import verdict_lines

    for dest in ATM_OPTIONS:
        if dest in atm_defaults and getattr(args, dest, None) != atm_defaults[dest]:
            return _fail(
                f"{_flag(dest)} is an ATM option; with --pipeline log use --messages, --consumer,"
                " --producer-idempotent, --lost-ack, --crash-before-commit, --zombie, --partitions"
            )
    if args.trace:
        folder = Path(args.trace).parent
        if not folder.is_dir():
            return _fail(
                f"--trace {args.trace}: folder {folder} does not exist; create it or pick another path"
            )
        if Path(args.trace).is_dir():
            return _fail(f"--trace {args.trace}: is a folder; give a file path")
    db = args.db or str(Path(tempfile.mkdtemp(prefix="atm-tui-")) / "bank.db")
    if args.trace:
        from atm_tui.sim.trace_file import trace_problem

        problem = trace_problem(args.trace, db)
        if problem:
            return _fail(problem)
    config = PipelineConfig(
        seed=args.seed,
        messages=DEFAULT_MESSAGES if args.messages is None else args.messages,
        amount=DEFAULT_AMOUNT if args.amount is None else args.amount,
        partitions=args.partitions or 1,
        producer_idempotent=True if args.producer_idempotent is None else args.producer_idempotent,
        consumer=args.consumer or "idempotent",
        lost_ack=args.lost_ack or 0.0,
        crash_before_commit=args.crash_before_commit or 0.0,
        zombie=args.zombie or 0.0,
        ttl=args.ttl,
    )
    store = StoreConfig(
        db, opening_balance=args.opening_balance, fresh=args.fresh, synchronous=args.synchronous
    )
    try:
        result = asyncio.run(simulate_pipeline(config, store, trace=args.trace, bridge=args.bridge))
    except StoreError as exc:
        return _fail(str(exc))
    except sqlite3.Error as exc:
        # The file became unusable mid-run (another program took its write lock, say). The refused
        # transaction rolled back and the run stops here: what it committed before is kept whole.
        return _fail(f"{describe_error(db, exc)} (the run stopped; what it had committed is kept)")
    report = result.report
    if args.json:
        out = {
            "db": db,
            "seed": args.seed,
            "pipeline": "log",
            "producer_idempotent": config.producer_idempotent,
            "consumer": config.consumer,
            "partitions": config.partitions,
            "amount": config.amount,
            **result.to_dict(),
        }
        print(json.dumps(out))
    else:
        c = report.to_dict()["counts"]
        producer = "idempotent" if config.producer_idempotent else "not idempotent"
        print(f"database: {db} (WAL, synchronous={result.synchronous})")
        print(
            f"pipeline log, seed {args.seed}: producer {producer}, consumer {config.consumer},"
            f" {config.partitions} partition{'s' if config.partitions > 1 else ''},"
            f" {rupees(config.amount)} a message"
        )
        print(
            f"producer: {c['produced']} messages produced, {c['sends']} sends ({c['resends']} resent after"
            f" {c['acks_lost']} lost acks), {c['producer_gave_up']} gave up"
        )
        print(
            f"broker: {c['appended']} appended, {c['duplicates_dropped']} duplicates dropped,"
            f" {c['duplicate_appends']} messages in the log more than once"
        )
        print(
            f"consumer: {c['deliveries']} deliveries ({c['redeliveries']} re-deliveries),"
            f" {c['charged']} charges applied, {c['skipped']} re-deliveries skipped,"
            f" {c['declined']} declined;"
            f" {c['consumer_crashes']} crashes, {c['consumer_stalls']} zombies,"
            f" {c['commits_refused']} commits refused"
        )
        if c["charged_again"]:
            print(
                f"key expired, charged again: {c['charged_again']} charges came after their message id's"
                f" key expired (--ttl {config.ttl:,} ms): the dedup window was shorter than the redelivery"
            )
        print(
            f"balance: {rupees(report.balance_before)} -> {rupees(report.balance_after)}"
            f" ({report.charge_rows} charge rows; {c['double_charges']} messages charged more than once)"
        )
        print("\n".join(verdict_lines(report.invariants)))
        rate = result.to_dict()["messages_per_second"]
        print(f"{result.elapsed:.3f} s, {rate:,} messages/s")
    if args.check and not report.ok:
        return 1
    return 0
