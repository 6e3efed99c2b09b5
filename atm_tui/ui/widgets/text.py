"""Text helpers the widgets share: cut a line to a width, set a Static only when it changed."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


def set_text(widget: Static, text: Text | str) -> None:
    """Update a Static only when its text changed, and re-lay out the screen only when its height
    would change: a layout pass repaints every pane, a plain refresh repaints this one."""
    if getattr(widget, "_atm_shown", None) == text:
        return
    widget._atm_shown = text  # type: ignore[attr-defined]
    rich = text if isinstance(text, Text) else Text(text)
    width = widget.content_size.width
    if width <= 0:
        # Not on screen (hidden pane, or not laid out yet): showing it will lay it out anyway.
        widget._atm_lines = None  # type: ignore[attr-defined]
        widget.update(text, layout=False)
        return
    lines = len(rich.wrap(widget.app.console, width))
    layout = lines != getattr(widget, "_atm_lines", None)
    widget._atm_lines = lines  # type: ignore[attr-defined]
    widget.update(text, layout=layout)
