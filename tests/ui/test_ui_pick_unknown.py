"""`o` picks which transaction `s` and `r` act on, so any unknown outcome can be settled in class."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static
from ui_helpers import make_app, query

from atm_tui.sim.events import Event, Finished, Sent


async def test_o_picks_an_older_unknown_and_s_and_r_act_on_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.settle(0)
        engine = app.session.engine
        assert engine is not None
        trace: list[Event] = []
        engine.world.subscribe(trace.append)
        # Every reply lost, no automatic retry: T123 and T124 both end unknown.
        for key in ("d", "a", "w"):
            await pilot.press(key)
        await app.settle(10)
        await pilot.press("w")
        await app.settle(10)
        await pilot.press("d")  # replies get through again
        await app.settle(1)
        assert engine.unknown == ["T123", "T124"]
        # By default s asks about the last one; o picks the older unknown.
        await pilot.press("o")
        await app.settle(0)
        await pilot.pause()
        assert app.session.target == "T123"
        assert "s/r → T123" in str(app.query_one("#counters", Static).render())
        await pilot.press("s")
        await app.settle(10)
        asked = [ev.txn_id for ev in trace if isinstance(ev, Sent) and ev.op == "status"]
        assert asked == ["T123"]
        sends = len(trace)
        await pilot.press("r")
        await app.settle(10)
        resent = [(e.txn_id, e.attempt) for e in trace[sends:] if isinstance(e, Sent) and e.op == "withdraw"]
        assert resent == [("T123", 2)]
        assert ("T123", "dispensed") in [(ev.txn_id, ev.outcome) for ev in trace if isinstance(ev, Finished)]
        assert engine.unknown == ["T124"]
        # One debit for T123 whatever was resent: the file agrees.
        assert query(tmp_path / "bank.db", "SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(1,)]
        # o again: back to the last transaction (T124 is the last, so it is not listed twice).
        await pilot.press("o")
        await app.settle(0)
        assert app.session.target is None
