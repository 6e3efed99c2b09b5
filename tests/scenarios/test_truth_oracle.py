"""The truth oracle: random key sessions in the real app, every claim on screen checked against SQL.

Hypothesis draws short key sequences; the app runs them with Pilot on a fresh SQLite file,
settles (the engine idle and every bank read done), and then each statement the panes make
is compared with a query on the file: the balance, every `debited N times` flag, each key's
deliveries and replays, the receipt's reply against the deliveries of its id, the counters.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples
from textual.widgets import Digits, Static

from atm_tui.ui.app import AtmApp, FakeClock, Settings
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.diagram import SequenceDiagram

KEYS = ["w", "h", "H", "u", "d", "a", "i", "r", "s", "S", "c", "ctrl+r y"]
SIZES = [(120, 36), (100, 30)]
# A press, then how long (wall seconds, on the fake clock) passes before the next.
session = st.lists(
    st.tuples(st.sampled_from(KEYS), st.sampled_from([0.2, 1.0, 3.0, 60.0])), min_size=1, max_size=6
)


def rows(conn: sqlite3.Connection, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return list(conn.execute(sql, args))


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def text(app: AtmApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def check_screen(app: AtmApp, db: Path, keys: list[str]) -> None:
    pane = app.query_one("#bank", BankPane)
    conn = sqlite3.connect(str(db))
    try:
        balance = rows(conn, "SELECT balance FROM accounts")[0][0]
        assert f"Balance: Rs {balance:,}" in str(pane.query_one(".bank-plain", Static).render()), keys
        assert pane.query_one(Digits).value == f"{balance:,}", keys

        # Every id the whole ledger holds more than once is flagged, and no other.
        repeated = rows(conn, "SELECT txn_id, count(*) FROM ledger GROUP BY txn_id HAVING count(*) > 1")
        flags = str(pane.query_one(".bank-flags", Static).render())
        shown = set(re.findall(r"⚠ (\S+): debited", flags))
        if len(repeated) <= 8:
            assert shown == {t for t, _ in repeated}, (keys, flags, repeated)
        for txn, n in repeated:
            if txn in shown:
                assert f"⚠ {txn}: debited {times(n)}" in flags, (keys, flags)

        # Each key listed: its deliveries, and its replays (hits - 1), as stored.
        keys_text = str(pane.query_one(".bank-keys", Static).render())
        for key, hits, status in rows(conn, "SELECT key, hits, status FROM idempotency_keys"):
            line = re.search(
                rf"^{re.escape(key)}: (\d+) deliver(?:y|ies), (.*), (\d+) replays?$", keys_text, re.M
            )
            if line is None:
                continue  # more keys than the pane lists
            delivered = rows(conn, "SELECT count(*) FROM deliveries WHERE txn_id = ?", key)[0][0]
            debits = rows(conn, "SELECT count(*) FROM ledger WHERE txn_id = ?", key)[0][0]
            assert int(line.group(1)) == delivered, (keys, line.group(0))
            assert int(line.group(3)) == hits - 1, (keys, line.group(0), hits)
            if status == "approved":
                done = "processed once" if debits == 1 else f"debited {times(debits)}"
                assert line.group(2) == done, (keys, line.group(0), debits)
        deliveries_text = str(pane.query_one(".bank-deliveries", Static).render())
        total = rows(conn, "SELECT count(*) FROM deliveries")[0][0]
        assert f"Deliveries: {total}" in deliveries_text, keys
        ledger_text = str(pane.query_one(".bank-ledger", Static).render())
        ledger_rows = rows(conn, "SELECT count(*) FROM ledger")[0][0]
        assert f"Ledger: {ledger_rows} row" in ledger_text, keys

        # The receipt's reply line says what the deliveries of its id were.
        receipt = text(app, "#atm-receipt")
        head = re.match(r"(\S+)  ", receipt)
        if head is not None:
            txn = head.group(1)
            outcomes = {o for (o,) in rows(conn, "SELECT outcome FROM deliveries WHERE txn_id = ?", txn)}
            ledger = {a for (a,) in rows(conn, "SELECT balance_after FROM ledger WHERE txn_id = ?", txn)}
            if "reply: ↺ replayed" in receipt:
                assert "replayed" in outcomes, (keys, receipt, outcomes)
            elif "reply: ✓ fresh" in receipt:
                assert "processed" in outcomes, (keys, receipt, outcomes)
            elif "reply: ✗ declined" in receipt:
                assert "declined" in outcomes, (keys, receipt, outcomes)
            elif "reply: ✗ rejected" in receipt:
                assert "rejected" in outcomes, (keys, receipt, outcomes)
            else:
                assert "outcome: unknown" in receipt, (keys, receipt)
                busy = "reply: ⧖ busy only, no final answer" in receipt and "in_progress" in outcomes
                assert busy or "reply: none arrived" in receipt, (keys, receipt, outcomes)
            if "outcome: dispensed" in receipt:
                assert ledger, (keys, receipt)  # cash only for a debit on file
                after = re.search(r"balance after: Rs ([\d,]+)", receipt)
                assert after is not None and int(after.group(1).replace(",", "")) in ledger, (
                    keys,
                    receipt,
                    ledger,
                )

        # The counters, as the file counts them.
        counters = text(app, "#counters")
        delivered = re.search(r"arrived (\d+)", counters)
        replays = re.search(r"replays (\d+)", counters)
        assert delivered is not None and replays is not None, counters
        assert int(delivered.group(1)) == total, (keys, counters)
        replayed = rows(conn, "SELECT count(*) FROM deliveries WHERE outcome = 'replayed'")[0][0]
        assert int(replays.group(1)) == replayed, (keys, counters)

        # The diagram keeps every debit of the current id (the story) whatever the screen size.
        if head is not None:
            diagram = app.query_one(SequenceDiagram)
            room = diagram.size.height - 1
            debits = rows(conn, "SELECT count(*) FROM ledger WHERE txn_id = ?", head.group(1))[0][0]
            if 0 < debits <= room // 2 and diagram.view.rows_total <= len(diagram.view.rows):
                drawn = str(diagram.render()).count("$ debit Rs 5,000")
                assert drawn >= debits, (keys, drawn, debits)
    finally:
        conn.close()


async def drive(steps: list[tuple[str, float]], size: tuple[int, int]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="truth-"))
    try:
        db = folder / "bank.db"
        app = AtmApp(Settings(db=str(db), fresh=True, wall=FakeClock(), shown_db="bank.db", storm_size=5))
        app.animation_level = "none"
        keys = [k for k, _ in steps]
        async with app.run_test(size=size) as pilot:
            for key, wait in steps:
                await pilot.press(*key.split())
                await app.settle(wait)
            await app.settle(120)  # every withdrawal ends: dispensed, declined, rejected or unknown
            await pilot.pause()
            check_screen(app, db, keys)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# 100 key sessions in all, half at each size: two tests, so two workers can share them.
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@settings(max_examples=examples(100 // len(SIZES)), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(steps=session)
def test_every_claim_on_screen_matches_the_file(
    steps: list[tuple[str, float]], size: tuple[int, int]
) -> None:
    asyncio.run(drive(steps, size))
