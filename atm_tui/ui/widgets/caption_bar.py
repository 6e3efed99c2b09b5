"""The scenario's caption bar: its title, "step 3 of 7", and what the step shows, in words."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class CaptionBar(Static):
    """The scenario's title, "step 3 of 7", and what the step shows, in words."""

    DEFAULT_CSS = """
    CaptionBar {
        display: none;
        height: auto;
        max-height: 5;
        padding: 0 1;
        background: $boost;
        border-left: thick $accent;
    }
    """

    def show_state(
        self, title: str, counter: str, caption: str, state: str, keys: str = "", with_caption: bool = True,
        words: str = "",
    ) -> None:
        """`keys`: the step's key badge ("key w"); `with_caption` False: the caption is a subtitle
        track of the recording instead (export --captions vtt), so the frame does not repeat it.
        `words`: the lesson words this caption is the first to use, each explained (one line)."""
        text = Text(overflow="fold")
        text.append(f" {counter} ", style="bold reverse")
        text.append(f" {state} " if state else " ", style="bold")
        if keys:
            text.append(f" {keys} ", style="bold reverse")
            text.append(" ")
        text.append(title, style="bold")
        if with_caption:
            text.append("\n")
            text.append(caption)
            if words:
                text.append("\n")
                text.append(words, style="italic")
        self.update(text)
