"""The log pipeline's report and its exactly-once invariants, from the trace, the log and the bank."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank import pipeline_store as store
from atm_tui.bank import queries
from atm_tui.sim.events import Event, RolledBack
from atm_tui.sim.pipeline.events import (
    Acked,
    AckLost,
    Appended,
    Charged,
    ChargeDeclined,
    ChargeSkipped,
    CommitRefused,
    ConsumerCrashed,
    ConsumerEvicted,
    ConsumerStalled,
    ConsumerStarted,
    DuplicateDropped,
    Fetched,
    KeyExpiredCharged,
    OffsetCommitted,
    Produced,
    ProduceRefused,
    ProducerGaveUp,
    ProduceSent,
    ProduceTimedOut,
)
from atm_tui.sim.pipeline.pipeline import Record
from atm_tui.sim.report import Invariant, snapshot_read

COUNT_NAMES = (
    "produced", "sends", "resends", "acks_lost", "acked", "producer_timeouts", "producer_gave_up",
    "produce_refused", "appended", "duplicates_dropped", "deliveries", "redeliveries", "charged",
    "skipped", "declined", "commits", "commits_refused", "consumer_starts", "consumer_crashes",
    "consumer_stalls", "consumer_evictions", "charged_again", "rolled_back",
)  # fmt: skip


class PipelineTally:
    """A trace subscriber that keeps the pipeline's counts, never the events."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(COUNT_NAMES, 0)

    def __call__(self, ev: Event) -> None:
        c = self.counts
        if isinstance(ev, Fetched):
            c["deliveries"] += 1
            if ev.attempt > 1:
                c["redeliveries"] += 1
        elif isinstance(ev, RolledBack):
            # Fetched, then lost with a crash or a fence before its transaction: not in the file.
            c["deliveries"] -= 1
            c["rolled_back"] += 1
            if ev.attempt > 1:
                c["redeliveries"] -= 1
        elif isinstance(ev, Charged):
            c["charged"] += 1
        elif isinstance(ev, KeyExpiredCharged):
            c["charged_again"] += 1
        elif isinstance(ev, ChargeSkipped):
            c["skipped"] += 1
        elif isinstance(ev, ChargeDeclined):
            c["declined"] += 1
        elif isinstance(ev, OffsetCommitted):
            c["commits"] += 1
        elif isinstance(ev, ProduceSent):
            c["sends"] += 1
            if ev.attempt > 1:
                c["resends"] += 1
        elif isinstance(ev, Appended):
            c["appended"] += 1
        elif isinstance(ev, Acked):
            c["acked"] += 1
        elif isinstance(ev, Produced):
            c["produced"] += 1
        elif isinstance(ev, AckLost):
            c["acks_lost"] += 1
        elif isinstance(ev, DuplicateDropped):
            c["duplicates_dropped"] += 1
        elif isinstance(ev, ProduceTimedOut):
            c["producer_timeouts"] += 1
        elif isinstance(ev, ProducerGaveUp):
            c["producer_gave_up"] += 1
        elif isinstance(ev, ProduceRefused):
            c["produce_refused"] += 1
        elif isinstance(ev, CommitRefused):
            c["commits_refused"] += 1
        elif isinstance(ev, ConsumerStarted):
            c["consumer_starts"] += 1
        elif isinstance(ev, ConsumerCrashed):
            c["consumer_crashes"] += 1
        elif isinstance(ev, ConsumerStalled):
            c["consumer_stalls"] += 1
        elif isinstance(ev, ConsumerEvicted):
            c["consumer_evictions"] += 1


@dataclass(slots=True)
class PipelineReport:
    counts: dict[str, int]
    balance_before: int
    balance_after: int
    charge_rows: int
    double_charged: list[str] = field(default_factory=list)  # "M3 x2", in message order
    duplicate_appends: list[str] = field(default_factory=list)  # "M3 x2": the log holds M3 twice
    invariants: list[Invariant] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants)

    def to_dict(self) -> dict[str, Any]:
        counts = dict(self.counts)
        counts["double_charges"] = len(self.double_charged)
        counts["duplicate_appends"] = len(self.duplicate_appends)
        return {
            "counts": counts,
            "balance_before": self.balance_before,
            "balance_after": self.balance_after,
            "charge_rows": self.charge_rows,
            "double_charged": list(self.double_charged),
            "duplicate_appends": list(self.duplicate_appends),
            "invariants": {i.name: {"ok": i.ok, "detail": i.detail} for i in self.invariants},
            "ok": self.ok,
        }


def _examples(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _check_pipeline(
    conn: sqlite3.Connection,
    account_id: str,
    group_id: str,
    topic: str,
    log: list[list[Record]],
    producer_idempotent: bool,
) -> tuple[int, int, list[str], list[str], list[Invariant]]:
    """The invariants over what is stored. Returns (balance, charge rows, doubles, dup appends, checks).

    Only this run's messages (those in the log) are judged: a reused database may hold others.
    """
    records = [r for part in log for r in part]
    ids = list(dict.fromkeys(r.message_id for r in records))
    charges = store.charge_counts(conn, account_id, ids)
    declined = store.declined_ids(conn, ids)
    doubles = [f"{m} x{n}" for m, n in charges.items() if n > 1]
    never = [m for m, n in charges.items() if n == 0 and m not in declined]
    per_session = Counter((r.message_id, r.producer_id, r.epoch) for r in records)
    in_log = Counter(r.message_id for r in records)
    dup_appends = [f"{m} x{n}" for m, n in in_log.items() if n > 1]
    opening, balance = queries.account_figures(conn, account_id)
    total = queries.ledger_totals(conn, account_id)[1]
    charge_rows = sum(charges.values())
    problems = []
    if doubles:
        problems.append(f"charged more than once: {_examples(doubles)}")
    if never:
        problems.append(f"in the log but never charged: {_examples(never)}")
    checks = [
        Invariant("each_message_charged_once", not problems, "; ".join(problems)),
        Invariant(
            "balance_matches_ledger",
            opening - balance == total,
            ""
            if opening - balance == total
            else f"opening {opening} - balance {balance} = {opening - balance}, ledger sums to {total}",
        ),
    ]
    if producer_idempotent:
        # Idempotence holds per producer session (id and epoch); a restarted producer is a new one.
        repeated = [f"{m} x{n} (producer {pid} epoch {e})" for (m, pid, e), n in per_session.items() if n > 1]
        checks.append(
            Invariant(
                "log_no_duplicate_appends",
                not repeated,
                f"appended more than once: {_examples(repeated)}" if repeated else "",
            )
        )
    offsets = store.read_offsets(conn, group_id, topic)
    behind = [
        f"partition {p} committed {offsets.get(p, (0, 0))[0]} of {len(part)}"
        for p, part in enumerate(log)
        if offsets.get(p, (0, 0))[0] != len(part)
    ]
    checks.append(
        Invariant("all_messages_consumed", not behind, f"not consumed: {_examples(behind)}" if behind else "")
    )
    return balance, charge_rows, doubles, dup_appends, checks


def check_pipeline(
    conn: sqlite3.Connection,
    account_id: str,
    group_id: str,
    topic: str,
    log: list[list[Record]],
    producer_idempotent: bool,
) -> tuple[int, int, list[str], list[str], list[Invariant]]:
    """The pipeline's invariants, read in one snapshot of the file (see `_check_pipeline`)."""
    with snapshot_read(conn):
        return _check_pipeline(conn, account_id, group_id, topic, log, producer_idempotent)
