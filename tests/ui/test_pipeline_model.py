"""The pipeline view's model (ui/models/pipeline_model.py), Textual-free, fed by a real pipeline."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rich.cells import cell_len

from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.bank.store import StoreConfig
from atm_tui.sim.pipeline.pipeline import Pipeline, PipelineConfig
from atm_tui.ui.models.outcomes import palette
from atm_tui.ui.models.pipeline_model import HOT, PipelineModel, recolour
from atm_tui.ui.widgets.pipeline_view import event_lines


async def run(tmp_path: Path, consumer: ConsumerMode) -> tuple[PipelineModel, Path]:
    db = tmp_path / f"{consumer}.db"
    pipeline = await Pipeline.open(
        PipelineConfig(messages=0, consumer=consumer), StoreConfig(str(db), fresh=True)
    )
    model = PipelineModel(0)
    pipeline.subscribe(model)
    pipeline.start(0)
    pipeline.crash_before_next_commits(1)
    pipeline.produce(1)
    await pipeline.run_until_idle()
    await pipeline.close()
    return model, db


def ledger(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(str(db))
    try:
        return {
            str(t): int(n) for t, n in conn.execute("SELECT txn_id, count(*) FROM ledger GROUP BY txn_id")
        }
    finally:
        conn.close()


async def test_naive_consumer_double_charge_is_what_the_ledger_holds(tmp_path: Path) -> None:
    model, db = await run(tmp_path, "naive")
    rows = ledger(db)
    assert rows == {"M1": 2}
    assert model.double_charged == ["M1"]
    words, style = model.status("M1")
    assert words == "⚠ DOUBLE: charged 2x" and style == HOT


async def test_idempotent_consumer_charges_once_and_skips_the_redelivery(tmp_path: Path) -> None:
    model, db = await run(tmp_path, "idempotent")
    assert ledger(db) == {"M1": 1}
    assert model.double_charged == []
    words, _ = model.status("M1")
    assert words.startswith("$ charged once") and "skipped" in words


async def test_event_lines_keep_a_long_event_whole_at_100_and_120_columns(tmp_path: Path) -> None:
    model, _ = await run(tmp_path, "naive")
    longest = max(model.lines, key=lambda line: len(line.text))
    for width in (40, 50, 60):  # the panel's width inside the network pane at 100 to 120 columns
        lines = event_lines(model, 40, width)
        assert all(cell_len(line.plain) <= width for line in lines)
        joined = " ".join(line.plain.strip() for line in lines)
        words = longest.text.split()
        assert " ".join(words[-3:]) in joined, (width, joined)  # the end of the event is on screen


def test_recolour_swaps_roles_for_theme_colours() -> None:
    from rich.text import Text

    text = Text("x", style=HOT)
    text.append("y", style=HOT)
    recolour(text, palette({"error": "#FF3030"}))
    assert text.style == "bold #FF3030" and all(span.style == "bold #FF3030" for span in text.spans)


def test_turning_producer_idempotence_off_claims_no_epoch_and_no_fencing() -> None:
    """`I` off restarts a plain producer: the caption must not promise a new epoch or a fence."""
    from atm_tui.sim.events import Control
    from atm_tui.ui.models.pipeline_model import PipelineModel

    model = PipelineModel()
    model(Control(0, "", 0, "producer_idempotent", "False"))
    model(Control(0, "", 0, "restart_producer", ""))
    assert "plain producer" in model.caption
    assert "epoch" not in model.caption.replace("no epoch", "") and "fenced" not in model.caption
    model(Control(1, "", 0, "producer_idempotent", "True"))
    model(Control(1, "", 0, "restart_producer", ""))
    assert "new epoch" in model.caption and "fenced" in model.caption
