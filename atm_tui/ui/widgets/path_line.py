"""A file path on one line or folded at its slashes, never cut in the middle of a name."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widgets import Static


class PathLine(Static):
    """`db: PATH`, folded over lines after a `/` when it must be, never inside a name."""

    DEFAULT_CSS = """
    PathLine { height: auto; }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.path = ""

    def set_path(self, path: str) -> None:
        if path != self.path:
            self.path = path
            self.refresh(layout=True)

    def _lines(self, width: int) -> list[str]:
        return fold_path(f"db: {self.path}", width)

    def render(self) -> RenderResult:
        return Text("\n".join(self._lines(self.size.width or 80)), no_wrap=True, overflow="crop")

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))


def fold_path(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken after a `/` (or a space); mid-name only if a name is longer."""
    if width <= 0:
        return [text]
    lines: list[str] = []
    while cell_len(text) > width:
        head = text[:width]
        cut = max(head.rfind("/"), head.rfind(" ")) + 1
        if cut <= 0:
            cut = width
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines
