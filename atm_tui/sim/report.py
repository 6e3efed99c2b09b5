"""The run report and the exactly-once invariants, computed from the database and the trace."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank import queries
from atm_tui.sim.events import (
    Crashed,
    Declined,
    Delivered,
    Dropped,
    Duplicated,
    Event,
    Finished,
    InProgress,
    KeyExpired,
    Processed,
    Rejected,
    Replayed,
    Requested,
    Resolved,
    Retrying,
    RolledBack,
    Sent,
    TimedOut,
)

COUNT_NAMES = (
    "withdrawals", "attempts", "deliveries", "processed", "replayed", "in_progress", "rejected",
    "declined", "dispensed", "unknown", "requests_dropped", "replies_dropped", "duplicated",
    "timeouts", "retries", "crashes", "keys_expired", "resolved", "rolled_back",
)  # fmt: skip


# Events that only bump one count, by kind.
_COUNTED: dict[str, str] = {
    Duplicated.kind: "duplicated",
    InProgress.kind: "in_progress",
    Rejected.kind: "rejected",
    Retrying.kind: "retries",
    Crashed.kind: "crashes",
    KeyExpired.kind: "keys_expired",
    Resolved.kind: "resolved",
}


class Tally:
    """A trace subscriber that keeps counts and what each key answered, never the events."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(COUNT_NAMES, 0)
        self.dispensed: list[str] = []
        self._expected: dict[str, str] = {}
        self.replay_mismatches: list[str] = []
        # Every event of a run passes through here: one dict lookup by kind finds its handler,
        # where a chain of isinstance tests would try up to a dozen classes per event.
        self._handlers: dict[str, Callable[[Any], None]] = {
            Sent.kind: self._sent,
            Delivered.kind: self._delivered,
            Processed.kind: self._processed,
            Replayed.kind: self._replayed,
            Declined.kind: self._declined,
            Finished.kind: self._finished,
            Requested.kind: self._requested,
            Dropped.kind: self._dropped,
            RolledBack.kind: self._rolled_back,
            TimedOut.kind: self._timed_out,
        }

    def __call__(self, ev: Event) -> None:
        counted = _COUNTED.get(ev.kind)
        if counted is not None:
            self.counts[counted] += 1
            return
        handler = self._handlers.get(ev.kind)
        if handler is not None:
            handler(ev)

    def _sent(self, ev: Sent) -> None:
        if ev.op == "withdraw":
            self.counts["attempts"] += 1

    def _delivered(self, ev: Delivered) -> None:
        if ev.op == "withdraw":
            self.counts["deliveries"] += 1

    def _timed_out(self, ev: TimedOut) -> None:
        if ev.op not in ("balance", "status"):  # a read's timeout is not a write's
            self.counts["timeouts"] += 1

    def _rolled_back(self, ev: RolledBack) -> None:
        # The arrival died with a crash before its transaction: the file never had it.
        self.counts["rolled_back"] += 1
        if ev.op == "withdraw":
            self.counts["deliveries"] -= 1

    def _processed(self, ev: Processed) -> None:
        self.counts["processed"] += 1
        self._expected[ev.txn_id] = ev.body

    def _replayed(self, ev: Replayed) -> None:
        self.counts["replayed"] += 1
        if self._expected.setdefault(ev.txn_id, ev.body) != ev.body:
            self.replay_mismatches.append(ev.txn_id)

    def _declined(self, ev: Declined) -> None:
        self.counts["declined"] += 1
        self._expected[ev.txn_id] = ev.body

    def _finished(self, ev: Finished) -> None:
        if ev.outcome == "dispensed":
            self.counts["dispensed"] += 1
            self.dispensed.append(ev.txn_id)
        elif ev.outcome == "unknown":
            self.counts["unknown"] += 1

    def _requested(self, ev: Requested) -> None:
        if ev.op == "withdraw":
            self.counts["withdrawals"] += 1

    def _dropped(self, ev: Dropped) -> None:
        self.counts["requests_dropped" if ev.direction == "request" else "replies_dropped"] += 1

    @property
    def expected_bodies(self) -> dict[str, str]:
        return self._expected


@dataclass(slots=True)
class Invariant:
    name: str
    ok: bool
    detail: str = ""


def verdict_lines(invariants: list[Invariant]) -> list[str]:
    """What `simulate` prints about the invariants, the ATM's run and the pipeline's alike."""
    broken = [i for i in invariants if not i.ok]
    if not broken:
        return ["exactly-once invariants: all hold"]
    return [f"exactly-once invariant VIOLATED: {i.name}: {i.detail}" for i in broken]


@dataclass(slots=True)
class Report:
    counts: dict[str, int]
    balance_before: int
    balance_after: int
    opening_balance: int
    ledger_rows: int
    invariants: list[Invariant] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "balance_before": self.balance_before,
            "balance_after": self.balance_after,
            "opening_balance": self.opening_balance,
            "ledger_rows": self.ledger_rows,
            "invariants": {i.name: {"ok": i.ok, "detail": i.detail} for i in self.invariants},
            "ok": self.ok,
        }


def _examples(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _check_database(
    conn: sqlite3.Connection,
    account_id: str,
    dispensed: list[str] | None = None,
    expected_bodies: dict[str, str] | None = None,
    replay_mismatches: list[str] | None = None,
    client: str | None = None,
) -> tuple[int, int, int, list[Invariant]]:
    """The exactly-once invariants over what is stored. Returns (opening, balance, rows, checks).

    Also usable with no trace at all (after a crash): then only the database checks run. With
    `client`, every payout must be backed by a debit of that client's own in the whole file: a
    key another program debited pays out nothing here, so such a run cannot say "all hold".
    """
    opening, balance = queries.account_figures(conn, account_id)
    rows, total = queries.ledger_totals(conn, account_id)
    doubles = [f"{txn} x{n}" for txn, n in queries.ledger_doubles(conn, account_id)]
    checks = [
        Invariant(
            "one_ledger_row_per_key",
            not doubles,
            f"debited more than once: {_examples(doubles)}" if doubles else "",
        ),
        Invariant(
            "balance_matches_ledger",
            opening - balance == total,
            "" if opening - balance == total
            else f"opening {opening} - balance {balance} = {opening - balance}, ledger sums to {total}",
        ),
    ]
    if dispensed is not None:
        debited = queries.debited_ids(conn, account_id, client)
        missing = [t for t in dispensed if t not in debited]
        whose = f" of client {client}" if client is not None else ""
        checks.append(
            Invariant(
                "dispensed_have_ledger_rows",
                not missing,
                f"cash out with no ledger row{whose}: {_examples(missing)}" if missing else "",
            )
        )
    if expected_bodies is not None:
        # Stream the stored responses: read into a dict, a long run's keys would double its memory.
        differ: set[str] = set()
        for key, response in queries.stored_responses(conn, account_id):
            body = expected_bodies.get(key)
            if body is not None and body != response:
                differ.add(key)
        bad = list(replay_mismatches or []) + [key for key in expected_bodies if key in differ]
        checks.append(
            Invariant(
                "replays_byte_identical",
                not bad,
                f"replayed a different response for: {_examples(bad)}" if bad else "",
            )
        )
    return opening, balance, rows, checks


def snapshot_read(conn: sqlite3.Connection) -> contextlib.AbstractContextManager[None]:
    """One read transaction around a check: with other programs writing to the file, the balance
    and the ledger must be read from the same snapshot, or a commit between two reads would show
    a mismatch that never existed."""

    @contextlib.contextmanager
    def read() -> Iterator[None]:
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    return read()


def check_database(
    conn: sqlite3.Connection,
    account_id: str,
    dispensed: list[str] | None = None,
    expected_bodies: dict[str, str] | None = None,
    replay_mismatches: list[str] | None = None,
    client: str | None = None,
) -> tuple[int, int, int, list[Invariant]]:
    """The exactly-once invariants over what is stored, read in one snapshot (see `_check_database`)."""
    with snapshot_read(conn):
        return _check_database(conn, account_id, dispensed, expected_bodies, replay_mismatches, client)
