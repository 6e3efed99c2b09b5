"""Layout at the edges: small screens keep the evidence in view, compare mode across a resize,
the too-small notice, paths folded after a `/`, and the screenshot's word placement."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static
from ui_helpers import balance, make_app

from atm_tui.ui.capture.screenshot import place_runs, png_svg
from atm_tui.ui.widgets.bank_pane import BankPane
from atm_tui.ui.widgets.path_line import fold_path


def _shown(widget: Static) -> bool:
    """On screen: displayed, with every ancestor displayed, and given at least one row."""
    node = widget
    while node is not None and hasattr(node, "display"):
        if not node.display:
            return False
        node = node.parent  # type: ignore[assignment]
    return widget.region.height > 0


async def test_naive_story_at_80x24_shows_the_flag_and_the_ledger(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i", "h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        assert balance(tmp_path / "bank.db") == 35_000
        bank = app.query_one("#bank", BankPane)
        flags = bank.query_one(".bank-flags", Static)
        assert "⚠ T123: debited 3 times" in str(flags.render())
        assert _shown(flags)
        assert not bank.query_one(".bank-digits").display  # the big figures give way below 30 rows
        lists = bank.query_one(".bank-lists")
        ledger = bank.query_one(".bank-ledger", Static)
        assert lists.children.index(ledger) == 0
        # The ledger's heading and first row are inside the pane, not scrolled below the fold.
        assert ledger.region.y + 2 <= lists.region.bottom


async def test_compare_mode_follows_a_resize(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c")
        await app.settle(1)
        await pilot.pause()
        panes = app.query_one("#panes")
        assert app.query_one("#twin").display and not panes.has_class("-compare")
        assert app.query_one("#banks").size.width == 50
        await pilot.resize_terminal(80, 24)
        await app.settle(1)
        await pilot.pause()
        assert panes.has_class("-compare")
        assert _shown(app.query_one("#atm-status", Static))
        assert "ATM" in str(app.query_one("#atm-status", Static).render())
        await pilot.press("c")
        await app.settle(1)
        await pilot.pause()
        assert not app.query_one("#twin").display and not panes.has_class("-compare")
        await pilot.resize_terminal(120, 36)
        await app.settle(1)
        await pilot.pause()
        assert app.query_one("#banks").size.width == 40


async def test_under_80x24_says_the_terminal_is_too_small(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(60, 18)) as pilot:
        await pilot.pause()
        notice = app.query_one("#too-small", Static)
        assert _shown(notice)
        assert "80x24" in str(notice.render())
        assert not app.query_one("#panes").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not notice.display and app.query_one("#panes").display


def test_a_path_folds_after_a_slash_not_inside_a_name() -> None:
    assert fold_path("db: /tmp/nu100-naive.db", 14) == ["db: /tmp/", "nu100-naive.db"]
    assert fold_path("db: bank.db", 40) == ["db: bank.db"]
    assert fold_path("db: averyveryverylongname.db", 10)[0] == "db: "


def test_screenshot_words_carry_their_own_column() -> None:
    run = (
        '<text class="r1" x="10" y="20" textLength="170.8" clip-path="url(#c)">'
        "&#160;&#160;seen:&#160;replay</text>"
    )
    placed = place_runs(run)
    # 14 cells of 12.2: "seen:" starts at cell 2, "replay" at cell 8.
    assert 'x="34.4" y="20" textLength="61">seen:</text>' in placed.replace(' clip-path="url(#c)"', "")
    assert 'x="107.6" y="20" textLength="73.2"' in placed
    assert "&#160;" not in placed
    svg = '<style>@font-face { src: url("x"); }\n .m { font-family: Fira Code, monospace; }</style>' + run
    png = png_svg(svg)
    assert "@font-face" not in png and '"DejaVu Sans Mono", monospace' in png


def test_a_short_diagram_keeps_the_newest_arrival_and_the_evidence() -> None:
    """80x24 leaves three lines: the newest row, the newest arrival, and the story's debit stay."""
    from atm_tui.ui.models.rows import ARRIVED, LOST, NOTE, REPLY, REQUEST, Row
    from atm_tui.ui.widgets.diagram import pick_rows

    rows = [
        Row(0, REQUEST, "T123 #1", ARRIVED),
        Row(1, "bank", "$ debit Rs 5,000", NOTE, key=True, txn="T123"),
        Row(1, REPLY, "T123 #1", LOST, key=True, txn="T123"),
        Row(3, "atm", "◷ T123 #1 timed out", NOTE),
        Row(4, REQUEST, "T123 #2", ARRIVED),
        Row(5, "bank", "↺ replay, no debit", NOTE),
        Row(5, REPLY, "T123 #2", ARRIVED),
        Row(6, "atm", "✓ T123 dispensed", NOTE),
    ]
    kept = [r.label for r, _ in pick_rows(rows, 3, 40, "T123")]
    assert kept == ["$ debit Rs 5,000", "T123 #2", "✓ T123 dispensed"]
    assert [r.direction for r, _ in pick_rows(rows, 3, 40, "T123")][1] == REQUEST
    # Room for everything: everything, in order.
    assert [r.label for r, _ in pick_rows(rows, 20, 40, "T123")] == [r.label for r in rows]


async def test_compare_at_80x24_keeps_the_twins_whole_ledger(tmp_path: Path) -> None:
    """c h h w at 80x24: the naive twin's three ledger rows are all on screen, with its flag."""
    from atm_tui.ui.capture.frames import screen_of

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.settle(0)
        await pilot.press("c")
        await app.settle(1)
        await pilot.press("h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        text = screen_of(app).text()
    for row in ("#3 T123 -5,000 → 35,000", "#2 T123 -5,000 → 40,000", "#1 T123 -5,000 → 45,000"):
        assert row in text, text
    assert "⚠ T123: debited 3 times" in text
    assert "T123 #3" in text and "arrived" in text  # the newest arrival, in the diagram
