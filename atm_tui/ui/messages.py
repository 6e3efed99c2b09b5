"""The app's own messages; bursts from the engine coalesce so a storm never floods the queue."""

from __future__ import annotations

from textual.message import Message


class EngineChanged(Message, bubble=False):
    """Something happened in the engine; the panes redraw from the view once per burst."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineChanged)


class AutoplayDue(Message, bubble=False):
    """--autoplay: the shown step has stayed long enough; the next one begins."""
