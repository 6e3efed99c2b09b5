"""`atm-tui export --frames svg`: each step's frame is a screenshot of the real app, rendered headless.

The app is run at 120x36 with animations off, a wall clock that never moves and a fixed database
label, and shows the export's own player, so the same seed gives byte-identical SVG frames.
"""

from __future__ import annotations

from atm_tui.scenarios.export import FrameFormat, register_frame_format
from atm_tui.scenarios.player import ScenarioPlayer

FRAME_SIZE = (120, 36)


async def render_svg(player: ScenarioPlayer, size: tuple[int, int] = FRAME_SIZE) -> str:
    """The app's screen showing `player` where it stands (the player stays open and unchanged)."""
    from atm_tui.ui.app import AtmApp, FakeClock, Settings

    settings = Settings(
        db=f"scenarios/{player.scenario.name}.db",
        shown_db=f"scenarios/{player.scenario.name}.db",
        wall=FakeClock(),
        no_animation=True,
        player=player,
    )
    app = AtmApp(settings)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.settle(0)
        await pilot.pause()
        return app.export_screenshot(title=f"atm-tui {player.scenario.name} {player.counter}")


register_frame_format(FrameFormat("svg", render_svg, "SVG screenshots of the app, one per step (120x36)"))
