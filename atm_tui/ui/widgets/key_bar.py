"""The key bar: the active screen's keys, each grey when off."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual.geometry import Size
from textual.widget import Widget

# An off key's colour: about 6:1 on the projector's black and 4.5:1 on the default panel, while a
# live key's white is 15:1 or more, so live and off are told apart at a glance.
OFF = "#8A8A8A"


class KeyBar(Widget):
    """Every key of the contract, wrapped over as many lines as the width needs (dimmed when idle)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $panel; }
    """

    def __init__(
        self,
        keys: Iterable[Binding],
        enabled: Callable[[str], bool],
        *,
        id: str | None = None,  # noqa: A002
        shown: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(id=id)
        self.keys = list(keys)
        self.enabled = enabled
        self.shown = shown or (lambda action: True)
        # check_action's answers as of the app's last redraw: painting later must not mix states.
        self.states: dict[str, bool | None] | None = None

    def _lines(self, width: int) -> list[Text]:
        lines: list[Text] = [Text()]
        states = self.states
        for b in self.keys:
            shown = self.shown(b.action) if states is None else states.get(b.action) is not False
            if not shown:
                continue  # a key that means something else in this mode: its other meaning is listed
            enabled = self.enabled(b.action) if states is None else states.get(b.action) is True
            piece = Text()
            # Off differs in shape as well as shade: no reversed badge, a mid grey that a projector
            # still shows (contrast measured in tests/ui/test_ui_key_contrast.py), never a near-white.
            piece.append(b.key_display or b.key, style="bold reverse" if enabled else OFF)
            piece.append(f" {b.description}  ", style="" if enabled else OFF)
            # The trailing gap may hang past the edge; only the label itself must fit.
            if lines[-1].cell_len and lines[-1].cell_len + len(piece.plain.rstrip()) > width:
                lines.append(Text())
            lines[-1].append_text(piece)
        return lines

    def render(self) -> RenderResult:
        return Text("\n").join(self._lines(self.size.width or 80))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))
