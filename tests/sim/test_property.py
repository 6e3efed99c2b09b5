"""Property: whatever the seed and the faults, idempotent mode keeps every exactly-once invariant."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from profiles import examples

from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import AtmConfig, BankTiming, LinkConfig, SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Delivered, Event, Finished
from atm_tui.sim.report import Tally, check_database
from atm_tui.sim.run import RunOptions, RunResult, simulate

probability = st.one_of(st.just(0.0), st.floats(0.0, 0.5), st.floats(0.0, 1.0), st.just(1.0))


@dataclass(frozen=True)
class Faults:
    seed: int
    drop_request: float
    drop_reply: float
    duplicate: float
    latency: int
    jitter: int
    processing: int
    timeout: int
    retry: str
    max_attempts: int
    withdrawals: int
    amount: int
    opening: int
    drop_next_replies: int
    duplicate_next: int
    ttl: int


faults = st.builds(
    Faults,
    seed=st.integers(0, 2**63 - 1),
    drop_request=probability,
    drop_reply=probability,
    duplicate=probability,
    latency=st.one_of(st.integers(0, 600), st.integers(0, 2000)),
    jitter=st.one_of(st.integers(0, 600), st.integers(0, 2000)),
    # Mostly quicker than a timeout, sometimes far slower, so "in progress" happens too.
    processing=st.one_of(st.integers(0, 500), st.integers(0, 8000)),
    timeout=st.integers(1, 12_000),
    retry=st.sampled_from(["none", "fixed", "backoff"]),
    max_attempts=st.integers(1, 6),
    withdrawals=st.integers(1, 4),
    amount=st.sampled_from([100, 5000, 20000]),
    opening=st.sampled_from([0, 10_000, 50_000]),
    drop_next_replies=st.integers(0, 3),
    duplicate_next=st.integers(0, 2),
    ttl=st.sampled_from([86_400_000, 5_000]),
)


def configure(f: Faults) -> SimConfig:
    return SimConfig(
        seed=f.seed,
        mode="idempotent",
        amount=f.amount,
        request=LinkConfig(latency=f.latency, jitter=f.jitter, drop=f.drop_request, duplicate=f.duplicate),
        reply=LinkConfig(latency=f.latency, jitter=f.jitter, drop=f.drop_reply),
        atm=AtmConfig(timeout=f.timeout, retry=f.retry, max_attempts=f.max_attempts),  # type: ignore[arg-type]
        bank=BankTiming(processing=f.processing, ttl=f.ttl),
    )


def run(f: Faults, folder: Path) -> tuple[RunResult, list[dict[str, object]]]:
    trace = folder / "trace.jsonl"
    options = RunOptions(
        withdrawals=f.withdrawals,
        drop_next_replies=f.drop_next_replies,
        duplicate_next_requests=f.duplicate_next,
        trace=str(trace),
    )
    result = asyncio.run(
        simulate(configure(f), StoreConfig(str(folder / "bank.db"), opening_balance=f.opening), options)
    )
    return result, [json.loads(line) for line in trace.read_text().splitlines()]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=False)
@given(f=faults)
def test_idempotent_mode_keeps_every_invariant(f: Faults) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result, events = run(f, folder)
        report = result.report
        for name in ("replayed", "in_progress", "rejected", "declined", "unknown", "keys_expired"):
            if report.counts[name]:
                event(f"has {name}")
        assert {i.name for i in report.invariants} == {
            "one_ledger_row_per_key",
            "balance_matches_ledger",
            "dispensed_have_ledger_rows",
            "replays_byte_identical",
        }
        expired_for = Counter(str(e["txn_id"]) for e in events if e["kind"] == "key_expired")
        if not expired_for:
            assert report.ok, [(i.name, i.detail) for i in report.invariants if not i.ok]
        else:
            # A key forgotten after its TTL is new again: the only breach allowed is that key's
            # second debit, and the trace says why (test_core's expiry test shows the mechanism).
            broken = {i.name for i in report.invariants if not i.ok}
            assert broken <= {"one_ledger_row_per_key"}
        conn = sqlite3.connect(folder / "bank.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            ledger = Counter(t for (t,) in conn.execute("SELECT txn_id FROM ledger"))
            keys = {k: (status, response, hits) for k, status, response, hits in
                    conn.execute("SELECT key, status, response, hits FROM idempotency_keys")}  # fmt: skip
            deliveries = list(conn.execute("SELECT txn_id, outcome FROM deliveries"))
            balance, opening = conn.execute("SELECT balance, opening_balance FROM accounts").fetchone()
        finally:
            conn.close()
        expired = sum(expired_for.values())
        # A key is debited at most once per retention window; with no expiry, at most once.
        for txn, n in ledger.items():
            assert n <= 1 + expired_for[txn], (txn, n)
        assert (
            sum(ledger.values()) <= len({e["txn_id"] for e in events if e["kind"] == "requested"}) + expired
        )
        assert opening - balance == sum(ledger.values()) * f.amount
        assert balance >= 0
        # Every arrival at the bank is a row; the trace and the table agree.
        delivered = [e for e in events if e["kind"] == "delivered" and e["op"] == "withdraw"]
        assert len(deliveries) == len(delivered) == report.counts["deliveries"]
        # A key's hit count is its answered deliveries: the first plus every replay since it was stored.
        if expired == 0:
            answered = Counter(t for t, o in deliveries if o in ("processed", "declined", "replayed"))
            assert {k: v[2] for k, v in keys.items()} == dict(answered)
        # Every processed or replayed body the trace shows is the stored response, byte for byte.
        for e in events:
            if e["kind"] in ("processed", "declined", "replayed") and expired == 0:
                assert e["body"] == keys[str(e["txn_id"])][1]
        # Cash came out only for keys with a ledger row; every withdrawal ended exactly once.
        finished = Counter(str(e["txn_id"]) for e in events if e["kind"] == "finished")
        assert finished == Counter(str(e["txn_id"]) for e in events if e["kind"] == "requested")
        for e in events:
            if e["kind"] == "finished" and e["outcome"] == "dispensed":
                assert ledger[str(e["txn_id"])] >= 1
            if e["kind"] == "finished" and e["outcome"] == "declined" and not expired_for[str(e["txn_id"])]:
                # (Once a key has expired, a later delivery may be declined after earlier debits.)
                assert ledger[str(e["txn_id"])] == 0
        assert report.counts["withdrawals"] == f.withdrawals
        assert report.counts["attempts"] <= f.withdrawals * f.max_attempts


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=faults)
def test_same_faults_same_trace(f: Faults) -> None:
    traces = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            run(f, Path(tmp))
            traces.append((Path(tmp) / "trace.jsonl").read_bytes())
    assert traces[0] == traces[1]


@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=faults)
def test_split_mode_without_a_crash_is_as_safe_and_naive_is_not(f: Faults) -> None:
    """Only the crash gap separates split from idempotent; naive breaks as soon as a retry lands."""
    with tempfile.TemporaryDirectory() as tmp:
        config = configure(f)
        config.bank.ttl = 86_400_000
        config.mode = "split"
        options = RunOptions(withdrawals=f.withdrawals, drop_next_replies=f.drop_next_replies,
                             duplicate_next_requests=f.duplicate_next)  # fmt: skip
        store = StoreConfig(str(Path(tmp) / "split.db"), opening_balance=f.opening)
        split = asyncio.run(simulate(config, store, options))
        assert split.report.ok, [(i.name, i.detail) for i in split.report.invariants if not i.ok]
        config.mode = "naive"
        store = StoreConfig(str(Path(tmp) / "naive.db"), opening_balance=f.opening)
        naive = asyncio.run(simulate(config, store, options))
        debits_after_first = naive.report.counts["processed"] - naive.report.counts["withdrawals"]
        if f.opening >= f.amount * naive.report.counts["deliveries"] and debits_after_first > 0:
            assert not naive.report.ok


async def _run_with_bank_crashes(f: Faults, crash_plan: dict[int, int], path: str) -> tuple[Tally, Engine]:
    """Crash the bank `offset` ms after its n-th delivery arrives, for each (n, offset) in the plan."""
    config = configure(f)
    config.bank.ttl = 86_400_000
    engine = await Engine.open(config, StoreConfig(path, opening_balance=f.opening))
    tally = Tally()
    engine.world.subscribe(tally)
    remaining = f.withdrawals - 1

    def next_customer(ev: Event) -> None:
        nonlocal remaining
        if isinstance(ev, Finished) and remaining > 0 and ev.txn_id == engine.atm.last_txn_id:
            remaining -= 1
            engine.world.at(engine.world.now, engine.withdraw, f.amount)

    engine.world.subscribe(next_customer)

    def crash() -> None:
        if engine.server.in_flight:
            event("crashed with work in flight")
        engine.crash_bank()

    arrivals = 0

    def plan(ev: Event) -> None:
        nonlocal arrivals
        if isinstance(ev, Delivered):
            arrivals += 1
            if arrivals in crash_plan:
                engine.world.at(engine.world.now + crash_plan[arrivals], crash)

    engine.world.subscribe(plan)
    engine.withdraw(f.amount)
    await engine.run_until_idle()
    return tally, engine


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=faults, crash_plan=st.dictionaries(st.integers(1, 12), st.integers(0, 3000), max_size=4))
def test_bank_process_crashes_never_break_idempotent_mode(f: Faults, crash_plan: dict[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bank.db")

        async def go() -> list[tuple[str, str]]:
            tally, engine = await _run_with_bank_crashes(f, crash_plan, path)
            try:
                result = await engine.bank.run(
                    check_database, engine.bank.account_id, tally.dispensed, tally.expected_bodies,
                    tally.replay_mismatches,
                )  # fmt: skip
                checks = result[3]
            finally:
                await engine.close()
            return [(c.name, c.detail) for c in checks if not c.ok]

        assert asyncio.run(go()) == []
