"""The lesson's story end to end: T123 reaches the bank three times and is debited once (naive: thrice)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from engine_helpers import query, run_cli

from atm_tui.bank.service import Bridge
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.run import RunOptions, simulate

STORY = ("simulate", "--withdrawals", "1", "--drop-next-replies", "2")


def trace_events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_idempotent_story(db: str, trace: Path | None = None) -> None:
    assert query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id") == [
        ("T123", 1, "processed"), ("T123", 2, "replayed"), ("T123", 3, "replayed"),
    ]  # fmt: skip
    assert query(db, "SELECT txn_id, amount, balance_after FROM ledger") == [("T123", 5000, 45000)]
    assert query(db, "SELECT balance FROM accounts") == [(45_000,)]
    assert query(db, "SELECT key, hits FROM idempotency_keys") == [("T123", 3)]
    if trace is not None:
        events = trace_events(trace)
        finished = [(e["txn_id"], e["outcome"]) for e in events if e["kind"] == "finished"]
        assert finished == [("T123", "dispensed")]
        stored = query(db, "SELECT response FROM idempotency_keys")[0][0]
        bodies = [e["body"] for e in events if e["kind"] in ("processed", "replayed")]
        assert bodies == [stored] * 3


def assert_naive_story(db: str) -> None:
    assert query(db, "SELECT txn_id, attempt, outcome FROM deliveries ORDER BY id") == [
        ("T123", 1, "processed"), ("T123", 2, "processed"), ("T123", 3, "processed"),
    ]  # fmt: skip
    assert query(db, "SELECT txn_id, balance_after FROM ledger ORDER BY id") == [
        ("T123", 45000), ("T123", 40000), ("T123", 35000),
    ]  # fmt: skip
    assert query(db, "SELECT balance FROM accounts") == [(35_000,)]


@pytest.mark.parametrize("bridge", ["inline", "aiosqlite"])
async def test_story_through_simulate(tmp_path: Path, bridge: Bridge) -> None:
    db, trace = str(tmp_path / "bank.db"), tmp_path / "trace.jsonl"
    result = await simulate(
        SimConfig(),
        StoreConfig(db),
        RunOptions(withdrawals=1, drop_next_replies=2, trace=str(trace), bridge=bridge),
    )
    c = result.report.counts
    assert (c["withdrawals"], c["attempts"], c["deliveries"], c["processed"], c["replayed"]) == (
        1,
        3,
        3,
        1,
        2,
    )
    assert (c["dispensed"], c["unknown"], c["replies_dropped"]) == (1, 0, 2)
    assert (result.report.balance_before, result.report.balance_after, result.report.ledger_rows) == (
        50_000, 45_000, 1,
    )  # fmt: skip
    assert result.report.ok
    assert result.last_txn == "T123"
    assert_idempotent_story(db, trace)


@pytest.mark.parametrize("bridge", ["inline", "aiosqlite"])
async def test_naive_twin_through_simulate(tmp_path: Path, bridge: Bridge) -> None:
    db = str(tmp_path / "bank.db")
    result = await simulate(
        SimConfig(mode="naive"),
        StoreConfig(db),
        RunOptions(withdrawals=1, drop_next_replies=2, bridge=bridge),
    )
    assert result.report.balance_after == 35_000 and result.report.ledger_rows == 3
    assert result.report.counts["dispensed"] == 1
    assert not result.report.ok
    assert_naive_story(db)


async def test_aiosqlite_bridge_gives_the_identical_trace(tmp_path: Path) -> None:
    traces = []
    for bridge in ("inline", "aiosqlite"):
        trace = tmp_path / f"{bridge}.jsonl"
        config = SimConfig(seed=5)
        config.request.drop, config.reply.drop, config.request.duplicate = 0.2, 0.3, 0.2
        await simulate(
            config,
            StoreConfig(str(tmp_path / f"{bridge}.db")),
            RunOptions(withdrawals=20, drop_next_replies=2, trace=str(trace), bridge=bridge),
        )
        traces.append(trace.read_bytes())
    assert traces[0] == traces[1]
    assert len(traces[0].splitlines()) > 100


def test_story_through_the_cli(tmp_path: Path) -> None:
    db, trace = tmp_path / "bank.db", tmp_path / "trace.jsonl"
    proc = run_cli(*STORY, "--db", str(db), "--trace", str(trace), "--check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Rs 50,000 -> Rs 45,000 (1 ledger row)" in proc.stdout
    assert "3 deliveries at the bank" in proc.stdout
    assert "1 dispensed" in proc.stdout
    assert_idempotent_story(str(db), trace)


def test_naive_twin_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    proc = run_cli(*STORY, "--mode", "naive", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["balance_after"], out["ledger_rows"], out["ok"]) == (35_000, 3, False)
    assert out["invariants"]["one_ledger_row_per_key"]["ok"] is False
    assert_naive_story(str(db))
    # --check turns the violated invariant into exit 1.
    again = run_cli(*STORY, "--mode", "naive", "--db", str(tmp_path / "other.db"), "--check")
    assert again.returncode == 1


def test_story_json_contract(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    proc = run_cli(*STORY, "--db", str(db), "--json", "--bridge", "aiosqlite")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["db"] == str(db)
    assert out["synchronous"] == "normal"
    assert out["ok"] is True
    assert out["counts"]["deliveries"] == 3 and out["counts"]["processed"] == 1
    assert (out["balance_before"], out["balance_after"]) == (50_000, 45_000)
    for key in ("elapsed_seconds", "deliveries_per_second"):
        assert isinstance(out[key], float | int) and out[key] >= 0
    assert_idempotent_story(str(db))


def test_default_database_is_a_fresh_temporary_file_whose_path_is_printed() -> None:
    proc = run_cli(*STORY, "--json")
    assert proc.returncode == 0, proc.stderr
    db = json.loads(proc.stdout)["db"]
    try:
        assert Path(db).is_file()
        assert_idempotent_story(db)
    finally:
        shutil.rmtree(Path(db).parent)


def test_console_script_runs_the_story(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "atm-tui"
    if not script.exists():
        pytest.skip("the atm-tui console script is not installed next to this Python")
    import subprocess

    db = tmp_path / "bank.db"
    proc = subprocess.run([str(script), *STORY, "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert_idempotent_story(str(db))


def test_a_second_run_goes_on_from_the_stored_ids_and_balance(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert run_cli(*STORY, "--db", str(db)).returncode == 0
    proc = run_cli("simulate", "--withdrawals", "2", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["balance_before"], out["balance_after"], out["ok"]) == (45_000, 35_000, True)
    assert query(str(db), "SELECT txn_id FROM ledger ORDER BY id") == [("T123",), ("T124",), ("T125",)]
    # The clock goes on too: the new rows come after the old ones in virtual time.
    rows = query(str(db), "SELECT at FROM deliveries ORDER BY id")
    times = [t for (t,) in rows if isinstance(t, int)]
    assert len(times) == len(rows) and times == sorted(times)


def test_resending_t123_in_a_new_run_is_a_replay(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert run_cli(*STORY, "--db", str(db), "--name", "atm-1").returncode == 0
    proc = run_cli(  # the same ATM (client name) again: its own key comes back as a replay
        "simulate", "--withdrawals", "1", "--first-id", "123", "--db", str(db), "--json", "--check",
        "--name", "atm-1",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["counts"]["processed"], out["counts"]["replayed"], out["counts"]["dispensed"]) == (0, 1, 1)
    assert (out["balance_before"], out["balance_after"]) == (45_000, 45_000)
    assert query(str(db), "SELECT txn_id FROM ledger") == [("T123",)]
    assert query(str(db), "SELECT hits FROM idempotency_keys") == [(4,)]


def test_text_report_names_the_temporary_database() -> None:
    proc = run_cli(*STORY)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("database: ") and "synchronous=normal" in first
    db = Path(first.removeprefix("database: ").split(" (")[0])
    try:
        assert_idempotent_story(str(db))
    finally:
        shutil.rmtree(db.parent)
