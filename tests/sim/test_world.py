"""The virtual clock, the queue and the events: ordered, wall-clock free, each one JSON line."""

from __future__ import annotations

import dataclasses
import json

import pytest

from atm_tui.sim.events import Event, Sent
from atm_tui.sim.trace import ALL_EVENT_TYPES, EVENTS_BY_KIND, from_dict
from atm_tui.sim.world import World


async def test_actions_run_in_time_order_and_ties_in_scheduling_order() -> None:
    world = World(0)
    seen: list[tuple[int, str]] = []
    for t, name in ((300, "c"), (100, "a"), (300, "d"), (100, "b"), (0, "z")):
        world.at(t, lambda n: seen.append((world.now, n)), name)
    assert await world.run_until_idle() == 5
    assert seen == [(0, "z"), (100, "a"), (100, "b"), (300, "c"), (300, "d")]
    assert world.idle() and world.next_time() is None


async def test_the_past_is_now_and_async_actions_run_in_line() -> None:
    world = World(0, start=1000)
    seen: list[tuple[int, str]] = []

    async def later(name: str) -> None:
        seen.append((world.now, name))

    world.at(5, lambda: seen.append((world.now, "past")))
    world.at_async(1000, later, "async")
    await world.run_until_idle()
    assert seen == [(1000, "past"), (1000, "async")]


async def test_advance_to_runs_only_what_is_due_and_moves_the_clock() -> None:
    world = World(0)
    seen: list[int] = []
    for t in (100, 200, 300):
        world.at(t, seen.append, t)
    await world.advance_to(250)
    assert seen == [100, 200] and world.now == 250 and world.next_time() == 300
    await world.advance_to(100)  # never backwards
    assert world.now == 250


def test_subscribe_and_unsubscribe() -> None:
    world = World(0)
    got: list[Event] = []
    stop = world.subscribe(got.append)
    world.emit(Sent(1, "T1", 1, "withdraw", 5))
    stop()
    world.emit(Sent(2, "T1", 2, "withdraw", 5))
    assert [e.t for e in got] == [1]


def test_same_seed_same_random_numbers() -> None:
    assert [World(9).rng.random() for _ in range(3)] == [World(9).rng.random() for _ in range(3)]
    assert World(9).rng.random() != World(10).rng.random()


def _sample(cls: type[Event]) -> Event:
    values: dict[str, object] = {"t": 42, "txn_id": "T123", "attempt": 2}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            values[f.name] = {"int": 7, "str": 'x\u20b9"', "bool": True}[str(f.type)]
    return cls(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", ALL_EVENT_TYPES, ids=lambda c: c.kind)
def test_every_event_is_one_json_line_that_round_trips(cls: type[Event]) -> None:
    ev = _sample(cls)
    line = ev.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert (data["t"], data["kind"], data["txn_id"], data["attempt"]) == (42, cls.kind, "T123", 2)
    assert from_dict(data) == ev
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.t = 1  # type: ignore[misc]


def test_event_kinds_are_unique() -> None:
    assert len(EVENTS_BY_KIND) == len(ALL_EVENT_TYPES)
