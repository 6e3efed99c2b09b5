"""The fault toggles the engine holds, as one panel of armed and standing faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from atm_tui.ui.widgets.palette import styles


@dataclass(slots=True)
class Toggles:
    """The fault toggles' state as the engine holds it, for display only."""

    drop_next_replies: int = 0
    drop_next_requests: int = 0
    duplicate_next: int = 0
    drop_all_replies: bool = False
    auto_retry: bool = True
    mode: str = "idempotent"
    compare: bool = False
    request_drop: float = 0.0
    reply_drop: float = 0.0
    request_duplicate: float = 0.0
    crash_in_gap: int = 0  # split mode: crashes armed between the debit and the key (x)


class TogglePanel(Widget):
    """Fault toggles with their state, in words and symbols (not only colour)."""

    DEFAULT_CSS = """
    TogglePanel { height: auto; }
    """

    # The engine's toggles as the screen was given them: a new state redraws the panel, and lays
    # the screen out again (its number of rows may change).
    state: reactive[Toggles] = reactive(Toggles, layout=True)

    def __init__(self, keys: Mapping[str, str], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.keys = keys  # action -> the key the screen binds it to, as the key bar writes it

    def items(self) -> list[tuple[str, str, str, bool]]:
        s, k = self.state, self.keys
        return [
            (k["drop_reply"], "next reply", _armed("✕ drop", s.drop_next_replies), bool(s.drop_next_replies)),
            (k["drop_request"], "next request", _armed("✕ drop", s.drop_next_requests),
             bool(s.drop_next_requests)),
            (k["duplicate"], "duplicate", _armed("⧉ next", s.duplicate_next), bool(s.duplicate_next)),
            (k["drop_all"], "all replies", "✕ DROPPED" if s.drop_all_replies else "· pass",
             s.drop_all_replies),
            (k["auto_retry"], "auto-retry", "✓ on" if s.auto_retry else "✗ OFF", not s.auto_retry),
            (k["idempotency"], "bank", "● idempotent" if s.mode == "idempotent" else f"⚠ {s.mode.upper()}",
             s.mode != "idempotent"),
        ] + ([(k["crash_gap"], "crash gap", _armed("✕ crash", s.crash_in_gap), bool(s.crash_in_gap))]
             if s.mode == "split" else [])  # fmt: skip

    def render(self) -> RenderResult:
        width = self.size.width or 40
        cols = _toggle_columns(width)
        cell = width // cols
        out = Text(no_wrap=True, overflow="crop")
        hot = styles(self)["hot"]
        if _any_rate(self.state):
            out.append(self.keys["storm"], style="bold reverse")
            out.append(" random faults: ")
            out.append(_rates(self.state) + "\n", style=hot)
        items = self.items()
        for i, (key, name, state, on) in enumerate(items):
            piece = Text()
            piece.append(f"{key} ", style="bold reverse")
            piece.append(f"{name}: ")
            piece.append(state, style=hot if on else "")
            last = i % cols == cols - 1
            # Every column but the last is padded to its cell, so the columns line up row to row.
            piece.truncate(cell - 1, pad=cols > 1 and not last)
            out.append_text(piece)
            if last and i < len(items) - 1:
                out.append("\n")
            elif cols > 1 and not last:
                out.append(" ")
        return out

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return -(-len(self.items()) // _toggle_columns(width)) + _any_rate(self.state)


def _any_rate(s: Toggles) -> bool:
    return bool(s.request_drop or s.reply_drop or s.request_duplicate)


def _rates(s: Toggles) -> str:
    dup = f"⧉ duplicate {s.request_duplicate:.0%}"
    return f"✕ request {s.request_drop:.0%} · ✕ reply {s.reply_drop:.0%} · {dup}"


def _armed(what: str, n: int) -> str:
    return f"{what} {n}" if n else "· pass"


def _toggle_columns(width: int) -> int:
    return max(1, min(3, width // 25))
