"""The app's one message: a change of the Session, carrying the models to draw it from.

Bursts from the engine coalesce (a runner's change replaces the one still queued), so a storm
never floods the queue.
"""

from __future__ import annotations

from textual.message import Message

from atm_tui.ui.core.session_events import RUNNER, Change


class SessionChanged(Message, bubble=False):
    """The Session changed (`change.kind`); the screen draws its widgets from `change.shown`."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change

    def can_replace(self, message: Message) -> bool:
        runner = self.change.kind == RUNNER
        return runner and isinstance(message, SessionChanged) and message.change.kind == RUNNER
