"""The kafka scenario and pipeline scenarios in general: story outcome on the database, replay, files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from atm_tui.bank.service import Bridge
from atm_tui.cli.main import main
from atm_tui.scenarios import builtin_names, load
from atm_tui.scenarios.parsing import parse
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.scenarios.scenario import ScenarioError
from atm_tui.sim.events import Control, Event
from atm_tui.sim.pipeline.events import (
    ChargeSkipped,
    CommitRefused,
    ConsumerCrashed,
    ConsumerStalled,
    DuplicateDropped,
    Fetched,
)
from atm_tui.sim.trace import from_dict


def trace(events: list[Event]) -> str:
    return "".join(ev.to_json() + "\n" for ev in events)


def charges(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        str(m): int(n)
        for m, n in conn.execute(
            "SELECT txn_id, count(*) FROM ledger WHERE operation = 'charge' GROUP BY txn_id ORDER BY min(id)"
        )
    }


def deliveries(conn: sqlite3.Connection, key: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT outcome FROM deliveries WHERE txn_id = ? ORDER BY id", (key,))]


def committed(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT next_offset FROM consumer_offsets WHERE partition = 0").fetchone()
    return 0 if row is None else int(row[0])  # no row: nothing committed yet


def balance(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT balance FROM accounts").fetchone()[0])


def test_kafka_is_listed_and_is_a_pipeline_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert "kafka" in builtin_names()
    sc = load("kafka")
    assert sc.kind == "pipeline" and len(sc.steps) >= 6
    assert main(["scenarios"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.split()[0] == "kafka"]
    assert len(lines) == 1 and "crash" in lines[0]


async def test_kafka_story_beat_by_beat(tmp_path: Path) -> None:
    """Each beat's effect, read from the SQLite file (and the in-memory log) after that beat."""
    db = str(tmp_path / "kafka.db")
    async with ScenarioPlayer(load("kafka"), db) as player:
        conn = sqlite3.connect(db)
        assert charges(conn) == {} and committed(conn) == 0  # the consumer has joined at offset 0
        await player.next()  # naive consumer, M1: charged, offset 1 committed
        assert charges(conn) == {"M1": 1} and committed(conn) == 1
        await player.next()  # M2 charged, crash before the commit
        assert charges(conn) == {"M1": 1, "M2": 1} and committed(conn) == 1
        assert player.pipeline is not None and player.pipeline.view().consumer_state == "down"
        await player.next()  # the replacement re-reads M2 and charges it again
        assert charges(conn) == {"M1": 1, "M2": 2} and committed(conn) == 2
        await player.next()  # idempotent consumer, M3 charged, crash
        assert charges(conn)["M3"] == 1 and committed(conn) == 2
        await player.next()  # M3 re-delivered, the key skips it
        assert charges(conn)["M3"] == 1 and committed(conn) == 3
        assert deliveries(conn, "M3") == ["processed", "replayed"]
        await player.next()  # transactional, M4: the crash rolls back the charge AND the offset
        assert "M4" not in charges(conn) and committed(conn) == 3 and deliveries(conn, "M4") == []
        await player.next()  # M4 charged once, offset with it
        assert charges(conn)["M4"] == 1 and committed(conn) == 4
        await player.next()  # M5 appended, its ack lost, charged
        assert charges(conn)["M5"] == 1
        assert player.pipeline is not None
        assert [r.message_id for r in player.pipeline.broker.log[0]] == ["M1", "M2", "M3", "M4", "M5"]
        assert player.pipeline.view().in_flight == [("M5", 0, 1)]  # the producer still waits for its ack
        await player.next()  # the resend is dropped by the broker
        assert [r.message_id for r in player.pipeline.broker.log[0]].count("M5") == 1
        assert player.pipeline.view().in_flight == []
        while await player.next():
            pass
        conn.close()


async def test_kafka_final_state(tmp_path: Path) -> None:
    db = str(tmp_path / "kafka.db")
    async with ScenarioPlayer(load("kafka"), db) as player:
        await player.play_all()
        assert player.pipeline is not None
        log = [r.message_id for r in player.pipeline.broker.log[0]]
        events = list(player.events)
    conn = sqlite3.connect(db)
    # Naive: M2 charged twice. Idempotent (M3), transactional (M4): once. M5, M6: once.
    assert charges(conn) == {"M1": 1, "M2": 2, "M3": 1, "M4": 1, "M5": 1, "M6": 1}
    assert balance(conn) == 50_000 - 7 * 2_000
    opening, total = conn.execute(
        "SELECT opening_balance, (SELECT sum(amount) FROM ledger) FROM accounts"
    ).fetchone()
    assert opening - balance(conn) == total
    assert deliveries(conn, "M2") == ["processed", "processed"]
    assert deliveries(conn, "M3") == ["processed", "replayed"]
    # The transactional crash left no trace in the bank; the trace shows M4 was read twice.
    assert deliveries(conn, "M4") == ["processed"]
    assert [ev.attempt for ev in events if isinstance(ev, Fetched) and ev.txn_id == "M4"] == [1, 2]
    crashed = [(ev.txn_id, ev.where) for ev in events if isinstance(ev, ConsumerCrashed)]
    assert [m for m, _ in crashed] == ["M2", "M3", "M4"]
    assert "inside" in crashed[2][1] and "after the charge" in crashed[0][1]
    # The idempotent producer's resend of M5 was dropped: M5 is in the log once.
    dropped = [ev for ev in events if isinstance(ev, DuplicateDropped)]
    assert [(ev.txn_id, ev.offset) for ev in dropped] == [("M5", 4)]
    # The plain producer's resend of M6 was appended again; the consumer's key skipped it.
    assert log == ["M1", "M2", "M3", "M4", "M5", "M6", "M6"]
    assert [ev.txn_id for ev in events if isinstance(ev, ChargeSkipped)] == ["M3", "M6"]
    assert committed(conn) == len(log)
    keys = dict(conn.execute("SELECT key, hits FROM idempotency_keys").fetchall())
    assert keys == {"M3": 2, "M4": 1, "M5": 1, "M6": 2}
    # Four members joined (the start, then one after each crash); the last one's epoch is stored.
    assert conn.execute("SELECT epoch FROM consumer_groups").fetchone()[0] == 4


async def test_every_kafka_beat_has_a_visible_effect(tmp_path: Path) -> None:
    async with ScenarioPlayer(load("kafka"), str(tmp_path / "k.db")) as player:
        while await player.next():
            shown = [ev for ev in player.events_of_step() if not isinstance(ev, Control)]
            assert shown, f"step {player.position} shows nothing"


async def test_kafka_same_seed_same_trace_both_bridges(tmp_path: Path) -> None:
    traces = []
    runs: tuple[tuple[str, Bridge], ...] = (("a", "inline"), ("b", "inline"), ("c", "aiosqlite"))
    for run, bridge in runs:
        async with ScenarioPlayer(load("kafka"), str(tmp_path / f"{run}.db"), bridge=bridge) as p:
            await p.play_all()
            traces.append(trace(p.events))
    assert traces[0] == traces[1] == traces[2]


@pytest.mark.slow
def test_kafka_exports_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for folder in ("a", "b"):
        assert main(["export", "--scenario", "kafka", "--seed", "7", "--out", str(tmp_path / folder)]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    steps = len(load("kafka").steps)
    frames = [f"frame-{k:03d}.txt" for k in range(1, steps + 1)]
    assert names == ["captions.vtt", "events.jsonl", *frames, "kafka.cast", "keys.vtt", "summary.json"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["kind"] == "pipeline" and summary["seed"] == 7 and summary["steps_played"] == steps
    p = summary["pipeline"]
    assert p["charges_per_message"] == {"M1": 1, "M2": 2, "M3": 1, "M4": 1, "M5": 1, "M6": 1}
    assert p["double_charged"] == ["M2 x2"] and p["counts"]["double_charges"] == 1
    assert p["counts"]["duplicates_dropped"] == 1 and p["duplicate_appends"] == ["M6 x2"]
    assert p["committed_offsets"] == {"0": 7} and p["balance"] == summary["balance"] == 36_000
    assert not p["invariants"]["each_message_charged_once"]["ok"]
    assert p["invariants"]["balance_matches_ledger"]["ok"]
    written = (tmp_path / "a" / "events.jsonl").read_text()
    events = [from_dict(json.loads(line)) for line in written.splitlines()]
    assert len(events) == summary["events"]
    assert "".join(ev.to_json() + "\n" for ev in events) == written
    # One reader (sim/trace.py) for any events.jsonl: each line rebuilds to the same bytes.
    assert [ev.to_json() for ev in events] == written.splitlines()
    frame = (tmp_path / "a" / "frame-003.txt").read_text()
    assert "Charged more than once: M2 x2" in frame and "consumer naive" in frame


# -- pipeline scenario files of one's own -----------------------------------------------------------

PIPE = """title = "A pipeline story"
summary = "One line."
kind = "pipeline"
seed = 1

[start]
consumer = "idempotent"

[[steps]]
caption = "First beat."
actions = [
  "crash_before_next_commits",
  { do = "produce", count = 2 },
]

[[steps]]
caption = "Second beat."
actions = [{ do = "set_consumer_mode", value = "transactional" }]
wait_ms = 1000
"""


def error_of(text: str, tmp_path: Path) -> str:
    path = tmp_path / "story.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(str(path))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"scenario {path}, line ")
    return message


def test_good_pipeline_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "story.toml"
    path.write_text(PIPE, encoding="utf-8")
    sc = load(str(path))
    assert sc.kind == "pipeline" and sc.start["consumer"] == "idempotent" and sc.start["amount"] == 500
    assert [a.name for a in sc.steps[0].actions] == ["crash_before_next_commits", "produce"]
    assert [a.line for a in sc.steps[0].actions] == [12, 13]
    assert sc.pipeline_config().consumer == "idempotent"
    with pytest.raises(ValueError, match="pipeline"):
        sc.sim_config()


def test_an_atm_action_in_a_pipeline_scenario(tmp_path: Path) -> None:
    msg = error_of(PIPE.replace('{ do = "produce", count = 2 }', '"withdraw"'), tmp_path)
    assert msg.endswith(
        ", line 13: step 1: unknown action 'withdraw' in a pipeline scenario; expected one of produce,"
        " lose_next_acks, crash_before_next_commits, crash_consumer, stall_next_consumers,"
        " restart_producer, set_consumer_mode, set_producer_idempotent, wait, run_until_idle"
    )


def test_bad_pipeline_action_arguments(tmp_path: Path) -> None:
    msg = error_of(PIPE.replace('value = "transactional"', 'value = "careful"'), tmp_path)
    assert msg.endswith(
        ', line 18: step 2: set_consumer_mode value = "careful"; expected one of "naive", "idempotent",'
        ' "transactional"'
    )
    msg = error_of(PIPE.replace("count = 2", 'count = "2"'), tmp_path)
    assert ', line 13: step 1: produce count = "2"; expected a whole number from 1 to 1,000' in msg
    msg = error_of(PIPE.replace("count = 2", "times = 2"), tmp_path)
    assert ", line 13: step 1: action 'produce' has no argument 'times'; expected count" in msg
    no_on = PIPE.replace('{ do = "produce", count = 2 }', '{ do = "set_producer_idempotent" }')
    msg = error_of(no_on, tmp_path)
    assert ", line 13: step 1: action 'set_producer_idempotent' needs on (true or false)" in msg


def test_bad_pipeline_settings(tmp_path: Path) -> None:
    msg = error_of(PIPE.replace('consumer = "idempotent"', 'mode = "naive"'), tmp_path)
    assert ", line 7: unknown setting 'mode' in [start]; expected opening_balance, amount, partitions" in msg
    msg = error_of(PIPE.replace('kind = "pipeline"', 'kind = "kafka"'), tmp_path)
    assert ', line 3: the scenario: kind = "kafka"; expected one of "atm", "pipeline"' in msg
    msg = error_of(PIPE + "\n[faults]\ncrash_before_commit_pct = 100\n", tmp_path)
    assert ", line 22: [faults]: crash_before_commit_pct = 100; expected a whole number from 0 to 99" in msg


def test_a_pipeline_action_in_an_atm_scenario(tmp_path: Path) -> None:
    text = 'title = "t"\nsummary = "s"\n\n[[steps]]\ncaption = "c"\nactions = ["produce"]\n'
    msg = error_of(text, tmp_path)
    assert ", line 6: step 1: unknown action 'produce'; expected one of withdraw," in msg


async def test_fault_percentages_draw_from_the_seed(tmp_path: Path) -> None:
    text = PIPE.replace("count = 2", "count = 12") + "\n[faults]\ncrash_before_commit_pct = 40\n"
    sc = parse(text, "story", "story.toml")
    traces: list[str] = []
    crashes: list[int] = []
    for seed in (1, 2, 1):
        async with ScenarioPlayer(sc, str(tmp_path / f"s{seed}-{len(traces)}.db"), seed=seed) as p:
            await p.play_all()
            traces.append(trace(p.events))
            crashes.append(sum(isinstance(ev, ConsumerCrashed) for ev in p.events))
    assert traces[0] == traces[2] and traces[0] != traces[1]
    assert min(crashes) >= 1  # the one-shot crash at least; the 40% adds more


async def test_zombie_and_kill_actions(tmp_path: Path) -> None:
    text = """title = "zombie"
summary = "s"
kind = "pipeline"

[start]
consumer = "naive"

[[steps]]
caption = "A zombie: frozen before its commit, replaced, then its commit is refused."
actions = ["stall_next_consumers", "produce"]

[[steps]]
caption = "Kill the consumer while it works on M2."
actions = ["produce", { do = "wait", ms = 150 }, "crash_consumer", "run_until_idle"]
"""
    db = str(tmp_path / "z.db")
    async with ScenarioPlayer(parse(text, "zombie", "zombie.toml"), db) as player:
        await player.next()
        stalled = [ev for ev in player.events if isinstance(ev, ConsumerStalled)]
        refused = [ev for ev in player.events if isinstance(ev, CommitRefused)]
        assert [ev.txn_id for ev in stalled] == ["M1"] and [ev.txn_id for ev in refused] == ["M1"]
        conn = sqlite3.connect(db)
        # Naive: the zombie's charge happened, so the replacement's is a second one.
        assert charges(conn) == {"M1": 2} and committed(conn) == 1
        await player.next()
        kills = [ev for ev in player.events_of_step() if isinstance(ev, ConsumerCrashed)]
        assert [(ev.txn_id, ev.where) for ev in kills] == [("M2", "killed")]
        assert charges(conn)["M2"] >= 1 and committed(conn) == 2
        conn.close()
