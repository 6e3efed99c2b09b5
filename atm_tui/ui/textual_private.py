"""Every use of Textual's private API, in one place (Textual is pinned to 8.2 in pyproject.toml).

Nothing else in atm_tui may name a private Textual attribute; tests/test_textual_private.py
checks that, and fails loudly if Textual renames or reshapes what is used here:

- `Screen._compositor.render_update(full=True, screen_stack=App._background_screens)`: the
  whole screen as Textual sends it to the terminal. App.export_screenshot draws its SVG from
  exactly this; the export needs the cells too (PNG frames, the asciicast), from the same render.
- `App._get_dom_base`: the node `app.query_one` searches from. Textual's is the first screen
  composed; with one screen per mode, the app's queries must search the screen shown now.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual.app import App, ReturnType
from textual.dom import DOMNode


def full_update(app: App[Any]) -> RenderableType:
    """What Textual would paint for the whole of the app's screen now, as a Rich renderable.

    The screens below it are passed along, so a modal is drawn over its background as on the
    terminal. Render it with a Console of the app's size and the truecolor system.
    """
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert update is not None  # a full update always renders
    return update


class QueriesTheShownScreen(App[ReturnType]):
    """An App whose `query`/`query_one` search `query_root()` (when it gives one), not the first screen."""

    def query_root(self) -> DOMNode | None:
        """The node the app's queries start from; None: Textual's default (the first screen)."""
        return None

    def _get_dom_base(self) -> DOMNode:
        return self.query_root() or super()._get_dom_base()
