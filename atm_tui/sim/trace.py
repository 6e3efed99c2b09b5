"""The trace's registry: every event kind, the ATM's and the log pipeline's, and `from_dict`.

`events.py` and `pipeline_events.py` each declare their set; only this module knows both, so a
reader of any `events.jsonl` (a replay, an export, a test) rebuilds its events here.
"""

from __future__ import annotations

from typing import Any

from atm_tui.sim.events import EVENT_TYPES, Event
from atm_tui.sim.pipeline.events import PIPELINE_EVENT_TYPES

ALL_EVENT_TYPES: tuple[type[Event], ...] = EVENT_TYPES + PIPELINE_EVENT_TYPES
EVENTS_BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in ALL_EVENT_TYPES}
if len(EVENTS_BY_KIND) != len(ALL_EVENT_TYPES):
    raise RuntimeError("an event kind is used twice")  # two classes would read as one


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild any event, the ATM's or the log pipeline's, from its JSON form."""
    cls = EVENTS_BY_KIND[data["kind"]]
    return cls(**{k: v for k, v in data.items() if k != "kind"})
