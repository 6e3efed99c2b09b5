"""The docs say what the code shows: the screen's words after the story, benchmark figures in one place."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Static
from ui_helpers import make_app

from atm_tui.ui.widgets.bank_pane import BankPane

ROOT = Path(__file__).resolve().parents[2]
UI_DOC = (ROOT / "docs" / "ui.md").read_text(encoding="utf-8")


async def test_the_story_in_docs_ui_is_what_the_screen_shows(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("h", "h", "w")
        await app.settle(60)
        await pilot.pause()
        counters_shown = str(app.query_one("#counters", Static).render())
        bank = app.query_one("#bank", BankPane)
        bank_shown = " ".join(" ".join(str(w.render()) for w in bank.query(Static)).split())
    counters = re.search(r"counters read\s+`([^`]+)`", UI_DOC)
    assert counters is not None
    assert " ".join(counters.group(1).split()) == " ".join(counters_shown.split())
    key_line = re.search(r'"(T123: 3 deliveries, [^"]+)"; the network', UI_DOC)
    assert key_line is not None and key_line.group(1) in bank_shown
    assert "(hits" not in UI_DOC and "hits 3" not in UI_DOC


def figures(text: str) -> set[str]:
    """Measured figures: a number with a unit of rate, time or memory."""
    found = re.findall(r"(\d[\d,.]*)\s?(deliveries/s|msg/s|req/s|/s|ms\b|us\b|MiB\b)", text)
    return {f"{number} {'/s' if unit.endswith('/s') else unit}" for number, unit in found}


def test_benchmark_figures_live_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Benchmarks" in readme
    # docs/ui.md points to the README instead of keeping its own table (it went stale: 1.36x).
    assert "1.36x" not in UI_DOC and "README.md#benchmarks" in UI_DOC
    # The engine's page explains the method and keeps its history; the results it hands the
    # README (its ```markdown block) are the README's figures.
    engine = (ROOT / "docs" / "benchmarks-engine.md").read_text(encoding="utf-8")
    block = re.search(r"```markdown\n(.*?)```", engine, flags=re.S)
    assert block is not None
    table = "\n".join(line for line in block.group(1).splitlines() if line.startswith("| "))
    assert figures(table) and figures(table) <= figures(readme), figures(table) - figures(readme)
    for page in ("presenter.md", "pipeline.md", "scenarios.md", "ui.md"):
        rows = [line for line in (ROOT / "docs" / page).read_text(encoding="utf-8").splitlines()
                if line.startswith("|") and figures(line)]  # fmt: skip
        assert rows == [], f"docs/{page} keeps its own benchmark figures: {rows[:1]}"
