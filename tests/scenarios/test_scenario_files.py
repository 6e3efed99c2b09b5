"""Malformed scenario files: one line naming the file, the line and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from atm_tui.scenarios.loader import load
from atm_tui.scenarios.parsing import parse
from atm_tui.scenarios.scenario import ScenarioError

GOOD = """title = "A story"
summary = "One line."
seed = 1

[start]
mode = "idempotent"

[[steps]]
caption = "First beat."
actions = ["drop_next_reply", { do = "withdraw", amount = 5000 }]

[[steps]]
caption = "Second beat."
wait_ms = 1000
"""


def error_of(text: str, tmp_path: Path, name: str = "story.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"scenario {path}")
    return message


def test_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "story.toml"
    path.write_text(GOOD, encoding="utf-8")
    sc = load(str(path))
    assert sc.name == "story" and sc.seed == 1 and len(sc.steps) == 2
    assert [a.name for a in sc.steps[0].actions] == ["drop_next_reply", "withdraw"]
    assert [a.line for a in sc.steps[0].actions] == [10, 10]
    assert sc.steps[0].wait_ms is None and sc.steps[1].wait_ms == 1000
    assert sc.start["retry"] == "fixed"  # a default filled in


def test_bad_toml_names_line_and_column(tmp_path: Path) -> None:
    text = GOOD.replace('caption = "Second beat."', 'caption = "Second beat.')
    msg = error_of(text, tmp_path)
    assert ", line 13, column" in msg and "not valid TOML" in msg


def test_unknown_action_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('{ do = "withdraw"', '{ do = "withdrew"')
    msg = error_of(text, tmp_path)
    assert ", line 10: step 1: unknown action 'withdrew'; expected one of withdraw, payment" in msg


def test_unknown_plain_action_on_a_later_line(tmp_path: Path) -> None:
    text = GOOD.replace("wait_ms = 1000", 'actions = [\n  "balance",\n  "explode",\n]')
    msg = error_of(text, tmp_path)
    assert ", line 16: step 2: unknown action 'explode'" in msg


def test_missing_caption_names_the_step_header(tmp_path: Path) -> None:
    text = GOOD.replace('caption = "Second beat."\n', "")
    msg = error_of(text, tmp_path)
    assert ", line 12: step 2 has no caption; expected caption = " in msg


def test_wrong_type_of_argument(tmp_path: Path) -> None:
    text = GOOD.replace("amount = 5000", 'amount = "5000"')
    msg = error_of(text, tmp_path)
    assert (
        ', line 10: step 1: withdraw amount = "5000"; expected a whole number from 100 to 10,000,000' in msg
    )


def test_unknown_argument(tmp_path: Path) -> None:
    text = GOOD.replace("amount = 5000", "amout = 5000")
    msg = error_of(text, tmp_path)
    assert ", line 10: step 1: action 'withdraw' has no argument 'amout'; expected amount, id" in msg


def test_missing_required_argument(tmp_path: Path) -> None:
    text = GOOD.replace('{ do = "withdraw", amount = 5000 }', '{ do = "payment", amount = 100 }')
    msg = error_of(text, tmp_path)
    assert ", line 10: step 1: action 'payment' needs key (a non-empty string)" in msg


def test_bad_start_setting(tmp_path: Path) -> None:
    msg = error_of(GOOD.replace('mode = "idempotent"', 'mode = "careful"'), tmp_path)
    assert ', line 6: [start]: mode = "careful"; expected one of "idempotent", "naive", "split"' in msg
    msg = error_of(GOOD.replace('mode = "idempotent"', "opening = 5"), tmp_path)
    assert ", line 6: unknown setting 'opening' in [start]; expected opening_balance" in msg


def test_top_level_mistakes(tmp_path: Path) -> None:
    msg = error_of(GOOD.replace("seed = 1", "sead = 1"), tmp_path)
    assert ", line 3: unknown setting 'sead'" in msg
    msg = error_of(GOOD.replace('title = "A story"\n', ""), tmp_path)
    assert "the scenario has no title" in msg
    msg = error_of(GOOD.replace("seed = 1", "seed = -4"), tmp_path)
    assert ", line 3: the scenario: seed = -4; expected a whole number from 0" in msg


def test_no_steps(tmp_path: Path) -> None:
    msg = error_of(GOOD.split("[[steps]]")[0], tmp_path)
    assert "no steps; expected at least one [[steps]] table" in msg


def test_bad_wait(tmp_path: Path) -> None:
    msg = error_of(GOOD.replace("wait_ms = 1000", "wait_ms = 1.5"), tmp_path)
    assert ", line 14: step 2: wait_ms = 1.5; expected a whole number" in msg


def test_unknown_names_and_missing_files() -> None:
    with pytest.raises(ScenarioError, match=r"^scenario 'nope': no such scenario; use one of t123, naive"):
        load("nope")
    with pytest.raises(ScenarioError, match=r"^scenario /no/such/file.toml: no such file$"):
        load("/no/such/file.toml")


def test_parse_keeps_the_source_name() -> None:
    with pytest.raises(ScenarioError, match=r"^scenario demo.toml, line 1, column"):
        parse("title = = 1\n", "demo", "demo.toml")


def test_inline_steps_point_at_the_steps_key(tmp_path: Path) -> None:
    text = 'title = "t"\nsummary = "s"\nsteps = [{ actions = ["balance"] }]\n'
    assert ", line 3: step 1 has no caption" in error_of(text, tmp_path)


# -- captions for a recording: two lines of the caption bar at 120 columns ---------------------
def test_every_caption_fits_two_lines_at_120_columns() -> None:
    import textwrap

    from atm_tui.scenarios.loader import load_all

    width = 120 - 3  # the caption bar's thick left border and its padding
    too_long = [
        (sc.name, k, len(text))
        for sc in load_all()
        for k, text in enumerate([sc.summary, *(step.caption for step in sc.steps)])
        if len(textwrap.wrap(text, width)) > 2
    ]
    assert too_long == []


def test_a_quoted_unknown_key_names_its_line(tmp_path: Path) -> None:
    # A quoted key ("x y" = 1) once sent the line search past the end of the file (IndexError).
    msg = error_of('title = "t"\nsummary = "s"\n"x y" = 1\n\n[[steps]]\ncaption = "c"\n', tmp_path)
    assert ", line 3: unknown setting 'x y'; expected title, summary, seed, lesson, kind, start" in msg
