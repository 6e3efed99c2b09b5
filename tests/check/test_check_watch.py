"""`atm-tui check --watch`: the run drawn in the app's network diagram, driven with Textual's Pilot.

The target is a real server on a real port (the gallery's no-dedup one); every row the diagram
holds must come from a hop the proxy reported, and `q` must quit with the check's exit code.
"""

from __future__ import annotations

import time
from pathlib import Path

from check_gallery import create_app, served
from test_check_rules import gallery_target

from atm_tui.check.probe import Options
from atm_tui.check.proxy import Hop
from atm_tui.check.watch import CheckWatch
from atm_tui.check.watch_model import WatchModel, http_label
from atm_tui.ui.models.rows import ARRIVED, LOST, NOTE, REPLY, REQUEST
from atm_tui.ui.widgets.diagram import SequenceDiagram


def test_the_model_turns_hops_into_the_diagrams_rows() -> None:
    m = WatchModel(run_id="abc123")
    m.start_rule("replay-after-lost-reply", 0)
    key = "check-abc123-lost-reply"
    for hop in (Hop(1, "request", key=key), Hop(1, "forwarded", copy=1, key=key),
                Hop(1, "answered", copy=1, status=201, key=key),
                Hop(1, "dropped-response", status=201, key=key),
                Hop(2, "request", key=key), Hop(2, "forwarded", copy=1, key=key),
                Hop(2, "answered", copy=1, status=201, key=key, replayed=True),
                Hop(2, "delivered", status=201, key=key)):
        m.hop(hop, 10)
    rows = list(m.view.rows)
    assert [(r.direction, r.label, r.state) for r in rows] == [
        ("atm", "▶ replay-after-lost-reply", NOTE),
        (REQUEST, "lost-reply #1", ARRIVED),
        (REPLY, "201 #1", LOST),
        ("bank", "the proxy drops #1's reply after the server answered", NOTE),
        (REQUEST, "lost-reply #2", ARRIVED),
        (REPLY, "201 #2", ARRIVED),
    ]
    assert str(rows[2].mark) == "✓ fresh" and str(rows[5].mark) == "↺ replay"
    assert rows[2].key  # the lost reply is evidence: it stays on a short screen


def test_copies_and_a_dropped_request_are_marked() -> None:
    m = WatchModel(run_id="abc123")
    m.hop(Hop(1, "request", key="check-abc123-lost-request"), 0)
    m.hop(Hop(1, "dropped-request", key="check-abc123-lost-request"), 1)
    m.hop(Hop(2, "request", key="check-abc123-concurrent"), 2)
    for copy in (1, 2, 3):
        m.hop(Hop(2, "forwarded", copy=copy, key="check-abc123-concurrent"), 3)
    for copy, status in ((1, 201), (2, 409), (3, 500)):
        m.hop(Hop(2, "answered", copy=copy, status=status, key="check-abc123-concurrent"), 4)
    m.hop(Hop(2, "delivered", status=201, key="check-abc123-concurrent"), 5)
    rows = list(m.view.rows)
    assert rows[0].state == LOST and rows[0].direction == REQUEST
    requests = [r for r in rows if r.direction == REQUEST and "concurrent" in r.label]
    assert [(r.duplicate, r.note) for r in requests] == [(True, "copy 1"), (True, "copy 2"), (True, "copy 2")]
    replies = [r for r in rows if r.direction == REPLY]
    # Only the first copy's answer reaches the checker; the proxy keeps the others.
    assert [(r.label, r.state, str(r.mark)) for r in replies] == [
        ("201 #2", ARRIVED, "✓ fresh"), ("409 #2 copy 2", LOST, "⧖ busy"), ("500 #2 copy 3", LOST, "✗ 500")]
    assert http_label(0, False).role == "lost" and http_label(422, False).word == "rejected"


async def test_watch_draws_a_real_run_and_q_quits_with_its_exit_code(tmp_path: Path) -> None:
    with served(create_app("no-dedup", str(tmp_path / "g.db"))) as url:
        app = CheckWatch(gallery_target(url), Options(run_id="feed01"))
        async with app.run_test(size=(120, 36)) as pilot:
            deadline = time.monotonic() + 60
            while app.outcome is None and not app.problem:
                assert time.monotonic() < deadline, "the check did not finish"
                await pilot.pause(0.05)
            await pilot.pause()
            assert app.outcome is not None and app.problem == ""
            # The screen's verdicts are the run's verdicts, in order.
            assert [(v.rule, v.verdict) for v in app.model.verdicts] == [
                (v.rule, v.verdict) for v in app.outcome.verdicts]
            rows = list(app.model.view.rows)
            # Exchange #2 is the lost-reply rule's first attempt (#1 is the baseline).
            assert any(r.direction == REPLY and r.state == LOST and r.label == "201 #2" for r in rows)
            assert any(r.direction == REQUEST and r.state == LOST and r.label.startswith("lost-request")
                       for r in rows)
            assert any(r.duplicate and r.label.startswith("duplicate") for r in rows)
            assert any(r.state == NOTE and r.label.startswith("✕ FAIL duplicate-one-effect") for r in rows)
            starts = [r.label for r in rows if r.state == NOTE and r.label.startswith("▶")]
            assert starts[:2] == ["▶ baseline", "▶ replay-after-lost-reply"]
            assert "▶ concurrent-one-effect + concurrent-409" in starts
            # What is on screen: the diagram's last lines and the head's summary.
            drawn = str(app.query_one("#diagram", SequenceDiagram).render())
            assert "key-expiry" in drawn
            head = str(app.query_one("#head").render())
            assert "5 required rules broken: replay-after-lost-reply" in head
            await pilot.press("q")
            await pilot.pause()
        assert app.return_value == 1 and app.return_code == 1
