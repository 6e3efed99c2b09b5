"""Subtitle cues over every scenario: at most 2 lines of at most 42 characters, at most 20 a second."""

from __future__ import annotations

import pytest

from atm_tui.scenarios.keys import ATM_KEYS, PIPELINE_KEYS, badge, step_keys
from atm_tui.scenarios.loader import load, load_all
from atm_tui.scenarios.recording import keys_vtt, webvtt
from atm_tui.scenarios.subtitles import MAX_CPS, MAX_LINE, MAX_LINES, chunks, subtitles
from atm_tui.scenarios.timing import timeline

SCENARIOS = [sc.name for sc in load_all()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_cue_of_every_scenario_keeps_the_limits(name: str) -> None:
    sc = load(name)
    beats = timeline(sc)
    subs = subtitles(beats)
    for sub in subs:
        assert 1 <= len(sub.lines) <= MAX_LINES, sub
        assert all(0 < len(line) <= MAX_LINE for line in sub.lines), sub
        assert sub.chars * 1000 <= MAX_CPS * (sub.end - sub.start), sub  # at most 20 characters a second
    # Together the cues say each caption, word for word, within its beat and filling it.
    for beat in beats:
        mine = [s for s in subs if s.position == beat.position]
        assert " ".join(" ".join(s.lines) for s in mine) == " ".join(beat.text.split())
        assert mine[0].start == beat.start and mine[-1].end == beat.end
        assert all(a.end == b.start for a, b in zip(mine, mine[1:], strict=False))
    assert webvtt(subs, sc.title) == webvtt(subtitles(timeline(sc)), sc.title)  # same input, same bytes


def test_a_long_sentence_is_cut_between_words_and_short_ones_share_a_cue() -> None:
    long = "word " * 40
    parts = chunks(long)
    assert len(parts) == 3 and all(len(p) <= 2 and all(len(x) <= 42 for x in p) for p in parts)
    assert chunks("One. Two.") == [("One. Two.",)]
    assert chunks("x" * 100) == [("x" * 42, "x" * 42), ("x" * 16,)]  # no space: cut inside the word


def test_key_badges_follow_the_app_keys() -> None:
    from textual.binding import Binding

    from atm_tui.ui.screens.atm import AtmScreen
    from atm_tui.ui.screens.pipeline import PipelineScreen

    for table, screen in ((ATM_KEYS, AtmScreen), (PIPELINE_KEYS, PipelineScreen)):
        bound = {(b.key_display or b.key, b.action) for b in screen.BINDINGS if isinstance(b, Binding)}
        for key, action in table.values():
            assert (key, action) in bound, (screen.__name__, key, action)
    t123 = load("t123")
    assert [badge(s) for s in t123.steps] == ["key h ×2", "key w", "", "", "key b"]
    kafka = load("kafka")
    assert step_keys(kafka.steps[0], kafka.kind) == ("w",)
    vtt = keys_vtt(timeline(t123), t123)
    beats = timeline(t123)
    assert f"{beats[2].start // 1000:02d}" in vtt and "key h ×2" in vtt and vtt.count(" --> ") == 3
