"""The class view's lanes: a table with one row per client, redrawn from a ClassModel."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from atm_tui.ui.models.class_view import ClassModel


class ClassLanes(DataTable[Text]):
    """One row per client, busiest first; a key debited twice paints its row red."""

    DEFAULT_CSS = """
    ClassLanes { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, header_height=1)
        self.order: list[str] = []
        self.model = ClassModel(())

    def on_mount(self) -> None:
        for header in self.model.headers:
            self.add_column(header, key=header)

    def show(self, model: ClassModel) -> None:
        """Redraw from `model`: cell by cell while the order holds, else every row (scroll kept)."""
        self.model = model
        rows = model.rows()
        order = [r.client for r in rows]
        if order != self.order:
            y = self.scroll_y
            self.clear()
            for row in rows:
                self.add_row(*self._texts(row.cells, row.doubled), key=row.client or "\0")
            self.order = order
            self.scroll_to(y=y, animate=False)
            return
        headers = model.headers
        for row in rows:
            for header, text in zip(headers, self._texts(row.cells, row.doubled), strict=True):
                self.update_cell(row.client or "\0", header, text)

    @staticmethod
    def _texts(cells: tuple[str, ...], doubled: bool) -> list[Text]:
        style = "bold red" if doubled else ""
        return [Text(c, style=style, justify="left" if i == 0 else "right") for i, c in enumerate(cells)]
