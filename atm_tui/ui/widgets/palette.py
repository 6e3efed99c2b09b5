"""Colour roles in the colours of the app's current theme (the one palette, themes.py)."""

from __future__ import annotations

from textual.widget import Widget

from atm_tui.ui.models import outcomes

# Colour is never the only signal: every style goes with a symbol or a word. The colours are the
# theme's (outcomes.ROLE_VARIABLES), so the projector theme recolours every pane.
NOTE_STYLE = "italic"
_PALETTES: dict[str, dict[str, str]] = {}


def styles(widget: Widget) -> dict[str, str]:
    """Colour role -> style, in the colours of the app's current theme."""
    try:
        app = widget.app
    except Exception:  # not mounted: the default theme's colours
        return outcomes.palette()
    theme = app.current_theme
    palette = _PALETTES.get(theme.name)
    if palette is None:
        colours = {var: getattr(theme, var, None) for var in set(outcomes.ROLE_VARIABLES.values())}
        palette = _PALETTES[theme.name] = outcomes.palette({k: v for k, v in colours.items() if v})
    return palette
