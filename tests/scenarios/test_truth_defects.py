"""The screen agrees with the file: each claim driven through the app's keys, then checked on the file."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Digits, Static
from ui_helpers import make_app, query

from atm_tui.ui.app import AtmApp
from atm_tui.ui.themes import PROJECTOR
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.diagram import SequenceDiagram


def text(app: AtmApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def flags(app: AtmApp) -> str:
    return str(app.query_one("#bank", BankPane).query_one(".bank-flags", Static).render())


def diagram(app: AtmApp) -> str:
    return str(app.query_one(SequenceDiagram).render())


async def keys(app: AtmApp, pilot: object, *pressed: str, wait: float = 60) -> None:
    for key in pressed:
        await pilot.press(key)  # type: ignore[attr-defined]
        await app.settle(0.1)
    await app.settle(wait)
    await pilot.pause()  # type: ignore[attr-defined]


async def test_double_debit_flag_survives_a_storm(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path, storm_size=100)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "i", "h", "h", "w")
        await keys(app, pilot, "i", "S", wait=300)
        # More ledger rows than the pane reads: the flag comes from a query over the whole ledger.
        assert query(db, "SELECT count(*) FROM ledger")[0][0] > 50
        assert query(db, "SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(3,)]
        assert "⚠ T123: debited 3 times" in flags(app)


async def test_storm_caption_counts_resends_not_scheduled_retries(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path, storm_size=30)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "S", wait=300)
        caption = text(app, "#caption")
        found = re.search(r"Storm over: 30 withdrawals, (\d+) deliveries, (\d+) resends", caption)
        assert found is not None, caption
        assert int(found.group(1)) == query(db, "SELECT count(*) FROM deliveries")[0][0]
        # A resend that reached the bank is in the file; one lost on the way is not: never more.
        arrived = query(
            db, "SELECT count(DISTINCT txn_id || '#' || attempt) FROM deliveries WHERE attempt > 1"
        )
        assert int(found.group(2)) >= arrived[0][0]


async def test_hits_are_shown_as_replays(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "h", "h", "w")
        assert query(db, "SELECT hits FROM idempotency_keys") == [(3,)]
        bank = str(app.query_one("#bank", BankPane).query_one(".bank-keys", Static).render())
        assert "T123: 3 deliveries, processed once, 2 replays" in bank and "hits 3" not in bank


async def test_duplicate_request_receipt_and_beliefs_agree_with_the_deliveries(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "u", "w")
        outcomes = {o for (o,) in query(db, "SELECT outcome FROM deliveries WHERE attempt = 1")}
        assert len(query(db, "SELECT 1 FROM deliveries WHERE attempt = 1")) == 2 and "processed" in outcomes
        receipt, beliefs = text(app, "#atm-receipt"), text(app, "#atm-beliefs")
        assert "reply: ✓ fresh" in receipt
        # Both copies' answers are listed, in the words of what each delivery did.
        line = next(ln for ln in beliefs.splitlines() if ln.startswith("#1 "))
        assert line.startswith("#1 answered") and "; then" in line and "✓ fresh" in line, line
        other = {"in_progress": "⧖ busy", "replayed": "↺ replay"}[(outcomes - {"processed"}).pop()]
        assert other in line and "confirmed" not in line, line


async def test_naive_retry_does_not_claim_the_bank_recognises_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "i", "h", "w", wait=3.5)
        screen = text(app, "#atm-screen")
        assert "never looks at the id" in screen and "can tell it is a retry" not in screen


async def test_second_h_caption_matches_the_toggle(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "h", "h", wait=0)
        assert "✕ drop 2" in str(app.query_one("#toggles").render())
        assert "each of the next 2 replies" in text(app, "#caption")


async def test_status_query_is_a_get_with_its_answer_and_no_cash(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "d", "w")
        await keys(app, pilot, "d", "s")
        assert query(db, "SELECT count(*) FROM ledger WHERE txn_id = 'T123'") == [(1,)]
        shown = diagram(app)
        assert "GET T123 status" in shown and "T123 status = debited" in shown and "answer" not in shown
        screen = text(app, "#atm-screen")
        assert "Bank's record of T123: debited (approved)." in screen and "dispenses nothing" in screen
        assert "Status query for T123" in text(app, "#caption") or "status query says debited" in text(
            app, "#caption"
        )


async def test_stale_caption_after_an_unknown_outcome(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "d", "w")
        caption = text(app, "#caption")
        assert caption.startswith("» T123: no answer after 3 attempts"), caption
        await keys(app, pilot, "d", "r")
        assert "T123" in text(app, "#caption") and "no answer after" not in text(app, "#caption")


async def test_the_debit_rows_stay_visible_on_small_screens(tmp_path: Path) -> None:
    for size in ((100, 30), (80, 24)):
        for naive in (False, True):
            folder = tmp_path / f"{size[0]}-{naive}"
            folder.mkdir()
            db = folder / "bank.db"
            app = make_app(folder)
            async with app.run_test(size=size) as pilot:
                await keys(app, pilot, *(["i"] if naive else []), "h", "h", "w")
                debits = query(db, "SELECT count(*) FROM ledger WHERE txn_id = 'T123'")[0][0]
                assert debits == (3 if naive else 1)
                shown = diagram(app)
                room = len(shown.splitlines()) - (1 if "t ATM" in shown else 0)
                # The story's rows first: every debit and both lost replies, as far as lines allow
                # beside the two rows always kept (the newest row and the newest arrival).
                story = shown.count("$ debit Rs 5,000") + shown.count("✕ LOST")
                assert story >= min(debits + 2, room - 2), (size, naive, shown)
                assert shown.count("$ debit Rs 5,000") >= min(debits, room - 2), (size, naive, shown)
                assert f"⚠ T123: debited {debits} times" in flags(app) or not naive


async def test_amount_hint_only_where_m_works(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, wait=0)
        assert "(m to change)" in text(app, "#atm-screen")
    scenario = make_app(tmp_path, scenario="mismatch", scenario_dir=str(tmp_path))
    async with scenario.run_test(size=(120, 36)) as pilot:
        await scenario.workers.wait_for_complete()
        await keys(scenario, pilot, wait=0)
        assert "(m to change)" not in text(scenario, "#atm-screen")
        await keys(scenario, pilot, "right")  # T123's answer is lost; the ATM does not retry: unknown
        screen = text(scenario, "#atm-screen")
        assert "Status unknown" in screen and "Press s" not in screen


async def test_operations_show_their_own_tables(tmp_path: Path) -> None:
    app = make_app(tmp_path, scenario="vote", scenario_dir=str(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await keys(app, pilot, "right")
        db = tmp_path / "vote.db"
        ballots = query(db, "SELECT count(*) FROM ballots")[0][0]
        pane = app.query_one("#bank", BankPane)
        bank = "\n".join(str(w.render()) for w in pane.query(Static))
        assert ballots and f"Ballots: {ballots} row" in bank
        assert pane.query_one(Digits).styles.display == "none"  # no money moves in a vote
        assert "no receipt yet" not in text(app, "#atm-receipt") or "nothing sent yet" not in text(
            app, "#atm-beliefs"
        )
        assert "debit Rs 0" not in diagram(app)


async def test_projector_theme_recolours_the_diagram(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "w")
        widget = app.query_one(SequenceDiagram)

        def colours() -> set[str]:
            rendered = widget.render()
            return {str(span.style) for span in rendered.spans}  # type: ignore[union-attr]

        before = colours()
        await keys(app, pilot, "t", wait=0)
        after = colours()
        assert app.theme == PROJECTOR.name
        success = PROJECTOR.success
        assert success is not None
        assert any(success.lower() in s.lower() for s in after), after
        assert before != after


async def test_opening_balance_on_an_existing_file_is_reported(tmp_path: Path) -> None:
    first = make_app(tmp_path)
    async with first.run_test(size=(120, 36)) as pilot:
        await keys(first, pilot, wait=0)
    again = make_app(tmp_path, fresh=False, opening_balance=80_000)
    async with again.run_test(size=(120, 36)) as pilot:
        await keys(again, pilot, wait=0)
        opened = str(again.query_one("#bank", BankPane).query_one(".bank-opened", Static).render())
        assert "--opening-balance Rs 80,000 not applied" in opened
        assert query(tmp_path / "bank.db", "SELECT opening_balance FROM accounts") == [(50_000,)]


async def test_the_clock_never_jumps_backwards_on_p(tmp_path: Path) -> None:
    app = make_app(tmp_path)

    def clock() -> float:
        found = re.search(r"\bt (\d+\.\d) s", text(app, "#topbar"))
        assert found is not None, text(app, "#topbar")
        return float(found.group(1))

    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "w", wait=9)
        await keys(app, pilot, wait=9)  # nothing stored after the withdrawal: the file's clock is behind
        before = clock()
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await keys(app, pilot, wait=0.1)
        assert "pipeline t" in text(app, "#topbar")
        during = clock()
        assert during >= before
        await keys(app, pilot, "w", wait=3)  # a charge in the pipeline
        later = clock()
        await keys(app, pilot, "p", wait=0.1)
        assert "pipeline t" not in text(app, "#topbar")
        assert clock() >= later


async def test_help_says_p_is_off_during_a_scenario(tmp_path: Path) -> None:
    from rich.table import Table

    from atm_tui.ui.screens.modals import HelpScreen

    app = make_app(tmp_path, scenario="t123", scenario_dir=str(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys", Static).content
        assert isinstance(table, Table)
        keys, descriptions = (list(col.cells) for col in table.columns)
        rows = {str(k): str(d) for k, d in zip(keys, descriptions, strict=True)}
        assert rows["p"].endswith("(off while a scenario plays)"), rows["p"]


async def test_leaving_the_pipeline_does_not_leave_a_stale_atm_caption(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await keys(app, pilot, "h", "w", wait=20)
        stale = app.view.caption
        assert "T123" in stale
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await keys(app, pilot, "w", wait=3)  # M1 charged: the ledger has moved on since the caption
        await keys(app, pilot, "p", wait=0.1)
        assert app.view.caption != stale and "same ledger" in app.view.caption
        assert query(tmp_path / "bank.db", "SELECT txn_id FROM ledger ORDER BY id") == [("T123",), ("M1",)]
