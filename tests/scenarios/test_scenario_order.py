"""The built-in scenarios' order comes from each file's `lesson = N`; a bad one is one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine_helpers import ROOT

from atm_tui.scenarios import builtin_names, load
from atm_tui.scenarios.loader import in_lesson_order
from atm_tui.scenarios.scenario import ScenarioError

STORY = 'title = "A story"\nsummary = "One line."\n{top}\n[start]\n{start}\n[[steps]]\ncaption = "A beat."\n'


def folder(tmp_path: Path, **lessons: str) -> Path:
    """A folder of scenario files, NAME.toml each, with `top` as the lines after the summary."""
    for name, top in lessons.items():
        (tmp_path / f"{name}.toml").write_text(STORY.format(top=top, start=""), encoding="utf-8")
    return tmp_path


def refusal(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        in_lesson_order(path, "stories")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_order_is_the_files_lesson_numbers_not_their_names(tmp_path: Path) -> None:
    path = folder(tmp_path, zebra="lesson = 1", apple="lesson = 20", mango="lesson = 3")
    assert in_lesson_order(path, "stories") == ["zebra", "mango", "apple"]


def test_the_built_ins_begin_with_t123_and_end_with_kafka() -> None:
    names = builtin_names()
    assert names[0] == "t123" and names[-1] == "kafka"
    assert names != sorted(names)  # the lesson's order, not the alphabet's


def test_the_docs_table_lists_the_built_ins_in_lesson_order() -> None:
    page = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    section = page.split("## The built-in scenarios", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `([a-z0-9-]+)`", section, flags=re.M) == builtin_names()


def test_a_file_without_a_lesson_is_named(tmp_path: Path) -> None:
    path = folder(tmp_path, first="lesson = 1", second="seed = 2")
    assert refusal(path) == (
        "scenario stories/second.toml: no lesson; expected lesson = N at the top, before any [table],"
        " N its place in the lesson (1 is told first)"
    )


def test_a_lesson_inside_a_table_is_not_the_files_lesson(tmp_path: Path) -> None:
    (tmp_path / "late.toml").write_text(STORY.format(top="", start="lesson = 1"), encoding="utf-8")
    assert refusal(tmp_path).startswith(
        "scenario stories/late.toml: no lesson; expected lesson = N at the top"
    )


def test_two_files_with_one_lesson_number(tmp_path: Path) -> None:
    path = folder(tmp_path, alpha="lesson = 2", beta="seed = 9\nlesson = 2", gamma="lesson = 1")
    assert refusal(path) == (
        "scenario stories/beta.toml, line 4: lesson = 2 is also stories/alpha.toml's;"
        " expected a number no other built-in scenario has"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"3"', '"3"'), ("2.5", "2.5"), ("true", "true"), ("0", "0"), ("1000", "1000"), ("[1]", "[1]")],
)
def test_a_lesson_that_is_not_a_whole_number_in_range(tmp_path: Path, value: str, shown: str) -> None:
    path = folder(tmp_path, good="lesson = 1", odd=f"lesson = {value}")
    assert refusal(path) == (
        f"scenario stories/odd.toml, line 3: the scenario: lesson = {shown};"
        " expected a whole number from 1 to 999"
    )


def test_a_built_in_that_is_not_toml_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('title = "A story\nlesson = 1\n', encoding="utf-8")
    assert refusal(tmp_path).startswith("scenario stories/broken.toml, line 1, column ")


def test_your_own_file_may_leave_the_lesson_out_but_not_misspell_it(tmp_path: Path) -> None:
    own = tmp_path / "own.toml"
    own.write_text(STORY.format(top="seed = 4", start=""), encoding="utf-8")
    assert load(str(own)).seed == 4
    own.write_text(STORY.format(top='lesson = "first"', start=""), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load(str(own))
    assert str(info.value) == (
        f'scenario {own}, line 3: the scenario: lesson = "first"; expected a whole number from 1 to 999'
    )
