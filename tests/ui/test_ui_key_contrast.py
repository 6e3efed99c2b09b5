"""The key bar on a projector: live and off keys are told apart, and both can be read (measured)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.color import Color
from ui_helpers import make_app

from atm_tui.ui.capture.frames import screen_of
from atm_tui.ui.themes import DEFAULT, PROJECTOR


def luminance(c: Color) -> float:
    r, g, b = (x / 255 for x in c.get_truecolor())
    lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: Color, b: Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", [PROJECTOR.name, DEFAULT.name])
async def test_live_and_off_keys_are_readable_and_distinct(theme: str, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.settle(0)
        app.theme = theme
        await pilot.pause()
        assert app.screen.check_action("withdraw", ()) is True  # w is live
        assert app.screen.check_action("status", ()) is None  # s is off: no transaction yet
        rows = screen_of(app).rows
        bar = [row for row in rows if "withdraw" in "".join(s.text for s in row)][-1]
        label = {seg.text.strip(): seg.style for seg in bar if seg.text.strip()}
        live, off = label["withdraw"], label["status"]
        assert live is not None and off is not None
        assert live.color is not None and off.color is not None and off.bgcolor is not None
        bg = off.bgcolor
        measured = (contrast(live.color, bg), contrast(off.color, bg))
        assert measured[0] >= 7, measured  # live: WCAG AAA for text
        assert measured[1] >= 3, measured  # off: still readable, greyed
        assert contrast(live.color, off.color) >= 2, measured  # and the two are told apart
        # Off keys also differ in shape: the live key's letter is a reversed badge, the off one's not.
        badge = {seg.text: seg.style for seg in bar if seg.text in ("w", "s")}
        assert badge["w"] is not None and badge["w"].reverse
        assert badge["s"] is None or not badge["s"].reverse
