"""Every scenario of the lesson, played headless on the real engine, checked against the database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atm_tui.scenarios import builtin_names, load
from atm_tui.scenarios.export import render_text
from atm_tui.scenarios.player import STEP_CONTROL, ScenarioPlayer
from atm_tui.sim.events import Control, Event, Finished, Processed, Rejected, Replayed, ReplyDelivered

STORIES = ("t123", "naive", "payment", "order", "vote", "get-vs-post", "in-flight", "mismatch", "two-atms",
           "expiry", "crash-gap")  # fmt: skip


async def play(name: str, tmp_path: Path, seed: int | None = None) -> tuple[sqlite3.Connection, list[Event]]:
    db = str(tmp_path / f"{name}.db")
    async with ScenarioPlayer(load(name), db, seed=seed) as player:
        await player.play_all()
        assert player.done and player.counter == f"step {player.total} of {player.total}"
        events = list(player.events)
    return sqlite3.connect(db), events


def ledger(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    return [
        (r[0], r[1], r[2]) for r in conn.execute("SELECT txn_id, operation, amount FROM ledger ORDER BY id")
    ]


def balance(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT balance FROM accounts").fetchone()[0])


def deliveries(conn: sqlite3.Connection, key: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT outcome FROM deliveries WHERE txn_id = ? ORDER BY id", (key,))]


def test_every_story_has_a_scenario() -> None:
    assert set(STORIES) <= set(builtin_names())
    for name in builtin_names():
        sc = load(name)
        assert sc.title and sc.summary and sc.steps
        assert all(step.caption for step in sc.steps)


async def test_t123_three_deliveries_one_debit(tmp_path: Path) -> None:
    conn, events = await play("t123", tmp_path)
    assert ledger(conn) == [("T123", "withdraw", 5_000)]
    assert deliveries(conn, "T123") == ["processed", "replayed", "replayed"]
    assert balance(conn) == 45_000
    # The same reply each time: both replays carry the body the first delivery stored.
    first = next(ev.body for ev in events if isinstance(ev, Processed))
    assert [ev.body for ev in events if isinstance(ev, Replayed)] == [first, first]
    stored = conn.execute("SELECT response, hits FROM idempotency_keys WHERE key = 'T123'").fetchone()
    assert stored == (first, 3)


async def test_naive_debits_every_delivery(tmp_path: Path) -> None:
    conn, _ = await play("naive", tmp_path)
    assert ledger(conn) == [("T123", "withdraw", 5_000)] * 3
    assert deliveries(conn, "T123") == ["processed"] * 3
    assert balance(conn) == 35_000


async def test_payment_retry_gets_the_stored_success(tmp_path: Path) -> None:
    conn, events = await play("payment", tmp_path)
    assert [tuple(r) for r in conn.execute("SELECT key, amount FROM payments")] == [("pay_xyz", 100)]
    assert ledger(conn) == [("pay_xyz", "payment", 100)]
    assert deliveries(conn, "pay_xyz") == ["processed", "replayed"]
    assert balance(conn) == 49_900
    stored = conn.execute("SELECT response FROM idempotency_keys WHERE key = 'pay_xyz'").fetchone()[0]
    received = [ev for ev in events if isinstance(ev, ReplyDelivered) and ev.op == "payment"]
    # The first reply was lost; the one the client got is the retry's, and it is the stored bytes.
    assert [(ev.attempt, ev.replayed) for ev in received] == [(2, True)]
    assert received[0].body == stored
    assert json.loads(stored)["status"] == "approved"


async def test_order_created_once(tmp_path: Path) -> None:
    conn, events = await play("order", tmp_path)
    assert [tuple(r) for r in conn.execute("SELECT order_id, item FROM orders")] == [
        ("ord_abc", "headphones")
    ]
    assert deliveries(conn, "ord_abc") == ["processed", "replayed", "replayed"]
    bodies = {ev.body for ev in events if isinstance(ev, ReplyDelivered) and ev.op == "order"}
    assert len(bodies) == 1  # every answer the client got is the one existing order
    assert ledger(conn) == [] and balance(conn) == 50_000


async def test_vote_counted_once_and_changed_ballot_rejected(tmp_path: Path) -> None:
    conn, events = await play("vote", tmp_path)
    assert [tuple(r) for r in conn.execute("SELECT voter_id, choice FROM ballots")] == [("456", "blue")]
    assert deliveries(conn, "voter-456") == ["processed", "replayed", "rejected"]
    assert [ev.txn_id for ev in events if isinstance(ev, Rejected)] == ["voter-456"]


async def test_get_vs_post(tmp_path: Path) -> None:
    conn, events = await play("get-vs-post", tmp_path)
    answers = [json.loads(ev.body)["balance"] for ev in events
               if isinstance(ev, ReplyDelivered) and ev.op == "balance"]  # fmt: skip
    # Three reads before any payment (one duplicated by the network), all the same number.
    assert answers[:3] == [50_000, 50_000, 50_000]
    assert ledger(conn) == [("pay_nokey", "payment", 100), ("pay_nokey", "payment", 100),
                            ("pay_key", "payment", 100)]  # fmt: skip
    assert deliveries(conn, "pay_nokey") == ["processed", "processed"]
    assert deliveries(conn, "pay_key") == ["processed", "replayed"]
    keyed = [tuple(r) for r in conn.execute("SELECT key, keyed FROM payments ORDER BY id")]
    assert keyed == [("pay_nokey", 0), ("pay_nokey", 0), ("pay_key", 1)]
    # A keyless request leaves no key behind to be found again.
    assert [r[0] for r in conn.execute("SELECT key FROM idempotency_keys")] == ["pay_key"]
    assert balance(conn) == 49_700 == answers[-1]


async def test_in_flight_retry_is_told_in_progress(tmp_path: Path) -> None:
    conn, events = await play("in-flight", tmp_path)
    outcomes = deliveries(conn, "T123")
    assert "in_progress" in outcomes
    assert outcomes.count("processed") == 1
    assert ledger(conn) == [("T123", "withdraw", 5_000)]
    assert any(isinstance(ev, ReplyDelivered) and ev.status == "in_progress" for ev in events)
    assert balance(conn) == 45_000


async def test_mismatch_rejected_one_debit(tmp_path: Path) -> None:
    conn, _ = await play("mismatch", tmp_path)
    assert deliveries(conn, "T123") == ["processed", "rejected"]
    assert ledger(conn) == [("T123", "withdraw", 5_000)]
    assert balance(conn) == 45_000


async def test_two_atms_reusing_t123_the_second_is_refused_never_paid(tmp_path: Path) -> None:
    conn, events = await play("two-atms", tmp_path)
    assert deliveries(conn, "T123") == ["processed", "rejected"]
    rows = conn.execute("SELECT client_id, outcome FROM deliveries WHERE txn_id = 'T123' ORDER BY id")
    assert rows.fetchall() == [("atm", "processed"), ("atm-2", "rejected")]
    rejected = [ev for ev in events if isinstance(ev, Rejected)]
    assert [(ev.txn_id, ev.reason) for ev in rejected] == [
        ("T123", "idempotency key belongs to another client")]
    # ATM 2 got no cash for T123; with a key of its own it gets its withdrawal.
    finished = [(ev.txn_id, ev.outcome) for ev in events if isinstance(ev, Finished)]
    assert ("T123", "rejected") in finished and ("atm-2-T123", "dispensed") in finished
    assert conn.execute("SELECT txn_id, client_id FROM ledger ORDER BY id").fetchall() == [
        ("T123", "atm"), ("atm-2-T123", "atm-2")]
    assert balance(conn) == 40_000


async def test_expiry_processes_again_after_the_window(tmp_path: Path) -> None:
    conn, events = await play("expiry", tmp_path)
    assert deliveries(conn, "T123") == ["processed", "processed"]
    assert [ev.kind for ev in events if ev.txn_id == "T123" and ev.kind == "key_expired"] == ["key_expired"]
    # With a retention window longer than the retry, the same hiccup replays instead.
    assert deliveries(conn, "T124") == ["processed", "replayed"]
    assert ledger(conn) == [("T123", "withdraw", 5_000)] * 2 + [("T124", "withdraw", 5_000)]
    assert balance(conn) == 35_000


async def test_crash_gap_split_twice_single_transaction_once(tmp_path: Path) -> None:
    conn, events = await play("crash-gap", tmp_path)
    assert ledger(conn) == [("T123", "withdraw", 5_000)] * 2 + [("T124", "withdraw", 5_000)]
    assert [ev.kind for ev in events].count("crashed") == 2
    assert balance(conn) == 35_000


# -- determinism and stepping back ----------------------------------------------------------


def trace(events: list[Event]) -> str:
    return "".join(ev.to_json() + "\n" for ev in events)


@pytest.mark.parametrize("name", STORIES)
async def test_same_seed_same_trace(name: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, first = await play(name, tmp_path / "a")
    _, second = await play(name, tmp_path / "b")
    assert trace(first) == trace(second)


async def test_the_seed_is_used(tmp_path: Path) -> None:
    # Backoff with full jitter draws from the one RNG, so another seed gives another trace.
    sc = load("t123")
    start = dict(sc.start, retry="backoff")
    from dataclasses import replace

    jittery = replace(sc, start=start)
    traces = []
    for seed in (1, 2):
        async with ScenarioPlayer(jittery, str(tmp_path / f"s{seed}.db"), seed=seed) as p:
            await p.play_all()
            traces.append(trace(p.events))
    assert traces[0] != traces[1]


def state(db: str) -> list[list[tuple[object, ...]]]:
    """Every row of every table the file holds (a pipeline scenario's consumer tables included)."""
    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        return [[tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables]
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["t123", "crash-gap", "get-vs-post", "kafka"])
async def test_back_is_exact(name: str, tmp_path: Path) -> None:
    """Each step back gives the database, the trace and the frame reached going forwards."""
    sc = load(name)
    forward_db = str(tmp_path / "forward.db")
    snapshots: list[tuple[list[list[tuple[object, ...]]], str, str]] = []
    async with ScenarioPlayer(sc, forward_db) as fwd:
        snapshots.append((state(forward_db), trace(fwd.events), await render_text(fwd)))
        while await fwd.next():
            snapshots.append((state(forward_db), trace(fwd.events), await render_text(fwd)))
    back_db = str(tmp_path / "back.db")
    async with ScenarioPlayer(sc, back_db) as player:
        await player.play_all()
        for k in range(len(sc.steps) - 1, -1, -1):
            assert await player.back()
            assert player.position == k
            assert player.counter == f"step {k} of {len(sc.steps)}"
            assert (state(back_db), trace(player.events), await render_text(player)) == snapshots[k]
        assert not await player.back()
        # And forwards again from the start reaches the same end.
        await player.goto(len(sc.steps))
        assert (state(back_db), trace(player.events)) == snapshots[-1][:2]
        markers = [ev.value for ev in player.events if isinstance(ev, Control) and ev.name == STEP_CONTROL]
        assert markers == [str(k) for k in range(1, len(sc.steps) + 1)]


async def test_the_aiosqlite_bridge_plays_the_same_trace(tmp_path: Path) -> None:
    """The app runs transactions on aiosqlite's thread; the story must not change."""
    traces = []
    for bridge in ("inline", "aiosqlite"):
        async with ScenarioPlayer(load("in-flight"), str(tmp_path / f"{bridge}.db"), bridge=bridge) as p:
            await p.play_all()
            traces.append(trace(p.events))
    assert traces[0] == traces[1]


async def test_back_during_a_begun_step_undoes_it(tmp_path: Path) -> None:
    db = str(tmp_path / "b.db")
    async with ScenarioPlayer(load("t123"), db) as player:
        await player.goto(1)
        after_one = trace(player.events)
        assert await player.begin_step()
        assert player.step_target == 3000  # step 2 waits 3 s of virtual time
        await player.back()
        assert player.position == 1 and trace(player.events) == after_one


async def test_step_markers_and_listeners_survive_a_rebuild(tmp_path: Path) -> None:
    seen: list[Event] = []
    resets: list[int] = []
    async with ScenarioPlayer(load("payment"), str(tmp_path / "p.db")) as player:
        player.subscribe(seen.append)
        player.on_reset(lambda: resets.append(player.position))
        await player.goto(2)
        markers = [ev.value for ev in player.events if isinstance(ev, Control) and ev.name == STEP_CONTROL]
        assert markers == ["1", "2"]
        before = list(player.events)
        assert seen == before
        await player.back()
        assert resets == [2]
        # The listener saw the first run, then the replay up to step 1, which is a prefix of it.
        assert seen == before + player.events
        assert before[: len(player.events)] == player.events


@pytest.mark.parametrize("name", STORIES)
async def test_invariant_checker_agrees_with_each_story(name: str, tmp_path: Path) -> None:
    """The run report's checker sees exactly the double effects the story is about, no others."""
    from atm_tui.sim.report import check_database

    conn, _ = await play(name, tmp_path)
    _, _, _, checks = check_database(conn, "A-1001")
    by_name = {c.name: c for c in checks}
    assert by_name["balance_matches_ledger"].ok  # payments are in the ledger too
    doubled = {"naive": "T123 x3", "get-vs-post": "pay_nokey x2", "expiry": "T123 x2", "crash-gap": "T123 x2"}
    one_row = by_name["one_ledger_row_per_key"]
    if name in doubled:
        assert not one_row.ok and one_row.detail == f"debited more than once: {doubled[name]}"
    else:
        assert one_row.ok


async def test_lost_request_and_lost_reply_both_end_in_one_debit(tmp_path: Path) -> None:
    conn, events = await play("lost-request", tmp_path)
    assert ledger(conn) == [("T123", "withdraw", 5_000), ("T124", "withdraw", 5_000)]
    # The lost request never reached the bank: one delivery. The lost reply: a replay.
    assert deliveries(conn, "T123") == ["processed"]
    assert deliveries(conn, "T124") == ["processed", "replayed"]
    assert balance(conn) == 40_000
    # The ATM sent both twice: it cannot tell which way the silence came from.
    sent = [(ev.txn_id, ev.attempt) for ev in events if ev.kind == "sent"]
    assert sent == [("T123", 1), ("T123", 2), ("T124", 1), ("T124", 2)]


async def test_duplicate_delivery_is_stopped_by_the_key_and_not_without_it(tmp_path: Path) -> None:
    conn, events = await play("duplicate", tmp_path)
    t124 = ("T124", "withdraw", 5_000)
    assert ledger(conn) == [("T123", "withdraw", 5_000), t124, t124]
    assert sorted(deliveries(conn, "T123")) == ["in_progress", "processed"]
    assert deliveries(conn, "T124") == ["processed", "processed"]
    assert balance(conn) == 35_000
    # Each withdrawal was sent once by the ATM (B1 is the balance inquiry): the copies are the network's.
    sent = [(ev.txn_id, ev.attempt) for ev in events if ev.kind == "sent"]
    assert sent == [("T123", 1), ("T124", 1), ("B1", 1)]


async def test_hook_the_naive_twin_pays_three_times_ours_once(tmp_path: Path) -> None:
    conn, events = await play("hook", tmp_path)
    assert ledger(conn) == [("T123", "withdraw", 5_000)]
    assert deliveries(conn, "T123") == ["processed", "replayed", "replayed"]
    assert balance(conn) == 45_000
    twin = sqlite3.connect(str(tmp_path / "hook-naive.db"))  # the compare action's file, beside ours
    assert ledger(twin) == [("T123", "withdraw", 5_000)] * 3
    assert balance(twin) == 35_000
    assert any(isinstance(ev, Control) and ev.name == "compare" and ev.value == "True" for ev in events)
