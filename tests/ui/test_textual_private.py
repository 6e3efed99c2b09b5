"""The one module that uses Textual's private API (ui/textual_private.py): still the shape it expects,
and no other module of atm_tui names a private Textual attribute.

A Textual upgrade that renames or reshapes `_compositor.render_update`, `_background_screens` or
`_get_dom_base` fails here by name, before any frame or query goes quietly wrong.
"""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

from rich.console import Console
from textual.app import App, ComposeResult
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

import atm_tui
from atm_tui.ui import textual_private
from atm_tui.ui.textual_private import QueriesTheShownScreen, full_update

PACKAGE = Path(atm_tui.__file__).parent
PRIVATE = ("_compositor", "_background_screens", "_get_dom_base")


def test_the_private_names_are_still_there_with_the_same_shape() -> None:
    from textual._compositor import Compositor

    params = inspect.signature(Compositor.render_update).parameters
    assert list(params)[:3] == ["self", "full", "screen_stack"], params
    assert "_background_screens" in dir(App), "App._background_screens is gone"
    assert callable(App._get_dom_base) and callable(DOMNode._get_dom_base)
    assert list(inspect.signature(App._get_dom_base).parameters) == ["self"]


class _Note(ModalScreen[None]):
    DEFAULT_CSS = "_Note { align: center bottom; } _Note Label { width: auto; }"

    def compose(self) -> ComposeResult:
        yield Label("a note over the screen", id="note")


class _Two(QueriesTheShownScreen[None]):
    """Two screens; the app's queries search the one `root` names, as the ATM app's modes do."""

    def __init__(self) -> None:
        super().__init__()
        self.root: Screen[None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("first screen", id="first")

    def query_root(self) -> DOMNode | None:
        return self.root


class _Second(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("second screen", id="second")


async def test_full_update_is_what_textuals_own_screenshot_draws() -> None:
    app = _Two()
    async with app.run_test(size=(40, 8)) as pilot:
        await app.push_screen(_Note())  # a modal: the screen below must show through
        await pilot.pause()
        # The console App.export_screenshot draws with.
        console = Console(
            width=40, height=8, file=io.StringIO(), force_terminal=True, color_system="truecolor",
            record=True, legacy_windows=False, safe_box=False,
        )  # fmt: skip
        console.print(full_update(app))
        text = console.export_text(clear=False)
        assert console.export_svg(title="t") == app.export_screenshot(title="t")
        assert "a note over the screen" in text and "first screen" in text


async def test_queries_search_the_screen_query_root_names() -> None:
    app = _Two()
    async with app.run_test(size=(40, 8)) as pilot:
        assert app.query_one("#first") is not None  # no root: Textual's default, the first screen
        second = _Second()
        await app.push_screen(second)
        await pilot.pause()
        assert not app.query("#second")  # Textual alone would still search the first screen
        app.root = second
        assert app.query_one("#second").id == "second"
        assert not app.query("#first")


def test_no_other_module_names_a_private_textual_attribute() -> None:
    users = {}
    pattern = re.compile(r"\b(" + "|".join(PRIVATE) + r")\b")
    for path in sorted(PACKAGE.rglob("*.py")):
        found = sorted(set(pattern.findall(path.read_text(encoding="utf-8"))))
        if found:
            users[str(path.relative_to(PACKAGE))] = found
    assert users == {"ui/textual_private.py": sorted(PRIVATE)}, users
    assert textual_private.__doc__ is not None and all(name in textual_private.__doc__ for name in PRIVATE)


def test_no_module_imports_a_private_textual_module() -> None:
    private_import = re.compile(r"^\s*(from|import)\s+textual\.(\w+\.)*_\w+", re.M)
    users = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
             if private_import.search(p.read_text(encoding="utf-8"))]  # fmt: skip
    assert users == []
