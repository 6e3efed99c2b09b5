"""The lossy links: one-shots, drop-all, probabilities and latency, all decided by the one RNG."""

from __future__ import annotations

import pytest

from atm_tui.sim.atm.config import LinkConfig
from atm_tui.sim.atm.network import Link, Message, Network
from atm_tui.sim.events import Dropped, Duplicated, Event
from atm_tui.sim.world import World


class Wire:
    """A link in a world, with every event and every arrival (time, txn, copy) recorded."""

    def __init__(self, config: LinkConfig, seed: int = 1, direction: str = "request") -> None:
        self.world = World(seed)
        self.link = Link(direction, config)
        self.events: list[Event] = []
        self.arrivals: list[tuple[int, str, int]] = []
        self.world.subscribe(self.events.append)

    def arrive(self, msg: Message, copy: int) -> None:
        self.arrivals.append((self.world.now, msg.txn_id, copy))

    async def send(self, *txn_ids: str) -> None:
        for txn in txn_ids:
            self.link.send(self.world, Message("withdraw", txn, 1, 5000), self.arrive)
        await self.world.run_until_idle()

    def drops(self) -> list[tuple[str, str]]:
        return [(e.txn_id, e.cause) for e in self.events if isinstance(e, Dropped)]


async def test_drop_next_n_drops_exactly_n_then_delivers() -> None:
    wire = Wire(LinkConfig(latency=100, jitter=0))
    wire.link.drop_next = 2
    await wire.send("T1", "T2", "T3", "T4")
    assert wire.drops() == [("T1", "forced"), ("T2", "forced")]
    assert wire.arrivals == [(100, "T3", 1), (100, "T4", 1)]
    assert wire.link.drop_next == 0
    assert wire.link.sent == 4


async def test_duplicate_next_delivers_two_copies_once() -> None:
    wire = Wire(LinkConfig(latency=100, jitter=0))
    wire.link.duplicate_next = 1
    await wire.send("T1", "T2")
    dups = [(e.txn_id, e.cause) for e in wire.events if isinstance(e, Duplicated)]
    assert dups == [("T1", "forced")]
    assert sorted(wire.arrivals) == [(100, "T1", 1), (100, "T1", 2), (100, "T2", 1)]


async def test_drop_all_drops_everything_until_switched_off() -> None:
    wire = Wire(LinkConfig(latency=10, jitter=0), direction="reply")
    wire.link.drop_all = True
    await wire.send("T1", "T2", "T3")
    assert wire.drops() == [("T1", "drop-all"), ("T2", "drop-all"), ("T3", "drop-all")]
    assert all(isinstance(e, Dropped) and e.direction == "reply" for e in wire.events)
    assert wire.arrivals == []
    wire.link.drop_all = False
    await wire.send("T4")
    assert [a[1] for a in wire.arrivals] == ["T4"]


async def test_probability_one_drops_every_message_and_zero_none() -> None:
    always = Wire(LinkConfig(drop=1.0))
    await always.send(*[f"T{i}" for i in range(50)])
    assert len(always.drops()) == 50 and {c for _, c in always.drops()} == {"random"}
    assert always.arrivals == []
    never = Wire(LinkConfig(drop=0.0, duplicate=0.0))
    await never.send(*[f"T{i}" for i in range(50)])
    assert never.drops() == [] and len(never.arrivals) == 50
    assert not any(isinstance(e, Duplicated) for e in never.events)


async def test_duplicate_probability_one_doubles_every_message() -> None:
    wire = Wire(LinkConfig(duplicate=1.0))
    await wire.send(*[f"T{i}" for i in range(20)])
    assert len(wire.arrivals) == 40
    assert sorted(c for _, _, c in wire.arrivals) == [1] * 20 + [2] * 20


async def test_drop_probability_half_is_roughly_half() -> None:
    wire = Wire(LinkConfig(drop=0.5), seed=3)
    await wire.send(*[f"T{i}" for i in range(1000)])
    assert 400 < len(wire.drops()) < 600
    assert len(wire.drops()) + len(wire.arrivals) == 1000


async def test_latency_and_jitter_bound_the_arrival_time() -> None:
    wire = Wire(LinkConfig(latency=500, jitter=500), seed=9)
    await wire.send(*[f"T{i}" for i in range(300)])
    times = [t for t, _, _ in wire.arrivals]
    assert min(times) >= 500 and max(times) <= 1000
    assert len(set(times)) > 50  # jitter really varies


async def test_delay_next_applies_once() -> None:
    wire = Wire(LinkConfig(latency=100, jitter=0))
    wire.link.delay_next = 4000
    await wire.send("T1")
    wire.world.clock.now = 0
    await wire.send("T2")
    assert wire.arrivals == [(4100, "T1", 1), (100, "T2", 1)]


async def _decisions(seed: int) -> list[str]:
    wire = Wire(LinkConfig(latency=200, jitter=300, drop=0.3, duplicate=0.2), seed=seed)
    await wire.send(*[f"T{i}" for i in range(200)])
    return [e.to_json() for e in wire.events] + [f"{t} {txn} {c}" for t, txn, c in wire.arrivals]


async def test_same_seed_same_decisions_other_seed_other_decisions() -> None:
    first = await _decisions(42)
    assert first == await _decisions(42)
    assert first != await _decisions(43)


def test_network_has_two_directions() -> None:
    net = Network(LinkConfig(drop=0.1), LinkConfig(drop=0.9))
    assert net.link("request").config.drop == 0.1
    assert net.link("reply").config.drop == 0.9
    with pytest.raises(ValueError, match="request or reply"):
        net.link("sideways")
