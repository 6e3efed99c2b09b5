"""The ATM client alone: ids, timeouts, retry policies with full jitter, outcomes, status queries."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from atm_tui.bank import core
from atm_tui.sim.atm.atm import Atm
from atm_tui.sim.atm.config import AtmConfig, RetryPolicy
from atm_tui.sim.atm.network import Message
from atm_tui.sim.events import (
    Event,
    Finished,
    GaveUp,
    Ignored,
    Resolved,
    RetryCancelled,
    Retrying,
    Sent,
    TimedOut,
)
from atm_tui.sim.world import World

E = TypeVar("E", bound=Event)


class Booth:
    """An ATM whose wire is a list: tests play the bank by calling `reply`."""

    def __init__(self, seed: int = 0, **config: Any) -> None:
        self.world = World(seed)
        self.sent: list[tuple[int, Message]] = []
        self.events: list[Event] = []
        self.world.subscribe(self.events.append)
        self.atm = Atm(self.world, AtmConfig(**config), self._wire, "A-1001")

    def _wire(self, msg: Message) -> None:
        self.sent.append((self.world.now, msg))

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def outcomes(self) -> list[tuple[str, str]]:
        return [(e.txn_id, e.outcome) for e in self.events if isinstance(e, Finished)]

    def reply(self, status: str, attempt: int | None = None, txn: str = "T123", body: str = "{}") -> None:
        attempt = self.sent[-1][1].attempt if attempt is None else attempt
        self.atm.on_reply(Message("withdraw", txn, attempt, status=status, body=body))


async def test_ids_start_at_t123_and_count_up() -> None:
    booth = Booth()
    assert [booth.atm.withdraw(5000) for _ in range(3)] == ["T123", "T124", "T125"]
    other = Booth(first_id=900, prefix="X")
    assert other.atm.withdraw(100) == "X900"


async def test_retry_none_gives_up_after_one_attempt() -> None:
    booth = Booth(retry="none", timeout=3000)
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    assert [(t, m.attempt) for t, m in booth.sent] == [(0, 1)]
    assert [e.t for e in booth.of(TimedOut)] == [3000]
    assert len(booth.of(GaveUp)) == 1
    assert booth.outcomes() == [("T123", "unknown")]


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
async def test_fixed_retries_resend_the_same_id_and_body_up_to_max_attempts(max_attempts: int) -> None:
    booth = Booth(retry="fixed", timeout=3000, fixed_delay=1000, max_attempts=max_attempts)
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    assert [(t, m.txn_id, m.amount, m.op, m.attempt) for t, m in booth.sent] == [
        (i * 4000, "T123", 5000, "withdraw", i + 1) for i in range(max_attempts)
    ]
    assert [e.delay for e in booth.of(Retrying)] == [1000] * (max_attempts - 1)
    assert booth.outcomes() == [("T123", "unknown")]
    assert booth.outcomes()[0] and booth.of(Finished)[0].attempt == max_attempts


async def test_backoff_full_jitter_stays_within_the_ceiling_and_varies() -> None:
    base, cap = 1000, 8000
    by_retry: dict[int, list[int]] = {}
    for seed in range(60):
        booth = Booth(
            seed=seed, retry="backoff", timeout=100, backoff_base=base, backoff_cap=cap, max_attempts=7
        )
        booth.atm.withdraw(5000)
        await booth.world.run_until_idle()
        retries = booth.of(Retrying)
        assert len(retries) == 6
        timeouts = booth.of(TimedOut)
        assert len(timeouts) == 7  # the seventh ends in giving up
        sends = [t for t, _ in booth.sent]
        for n, (timeout, retry) in enumerate(zip(timeouts[:-1], retries, strict=True)):
            delay = retry.delay
            assert 0 <= delay <= min(cap, base * 2**n)
            assert retry.attempt == n + 2
            # The next attempt goes out exactly `delay` after the timeout.
            assert sends[n + 1] == timeout.t + delay
            by_retry.setdefault(n, []).append(delay)
    for n, delays in by_retry.items():
        ceiling = min(cap, base * 2**n)
        assert len(set(delays)) > 10, "full jitter must spread retries"
        assert max(delays) > ceiling // 2, "the ceiling must grow as base * 2**n"
    assert max(by_retry[5]) <= cap and max(by_retry[5]) > base * 2**2


@pytest.mark.parametrize(
    ("status", "outcome"), [("approved", "dispensed"), ("declined", "declined"), ("rejected", "rejected")]
)
async def test_reply_decides_the_outcome_and_cancels_the_timeout(status: str, outcome: str) -> None:
    booth = Booth(retry="fixed")
    booth.atm.withdraw(5000)
    booth.world.clock.now = 1000
    booth.reply(status)
    await booth.world.run_until_idle()
    assert booth.outcomes() == [("T123", outcome)]
    assert booth.of(TimedOut) == []
    assert len(booth.sent) == 1


async def test_answer_to_an_older_attempt_still_completes() -> None:
    booth = Booth(retry="fixed", timeout=1000, fixed_delay=0)
    booth.atm.withdraw(5000)
    await booth.world.advance_to(1500)
    assert [m.attempt for _, m in booth.sent] == [1, 2]
    booth.reply("approved", attempt=1)
    await booth.world.run_until_idle()
    assert booth.outcomes() == [("T123", "dispensed")]
    assert len(booth.sent) == 2


async def test_late_reply_after_the_outcome_is_ignored() -> None:
    booth = Booth(retry="none")
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    booth.reply("approved")
    assert booth.outcomes() == [("T123", "unknown")]
    assert [e.status for e in booth.of(Ignored)] == ["approved"]


async def test_in_progress_reply_retries_without_waiting_for_the_timeout() -> None:
    booth = Booth(retry="fixed", timeout=3000, fixed_delay=500)
    booth.atm.withdraw(5000)
    booth.world.clock.now = 800
    booth.reply("in_progress")
    await booth.world.advance_to(1400)
    assert [(t, m.attempt) for t, m in booth.sent] == [(0, 1), (1300, 2)]
    assert booth.of(TimedOut) == []


async def test_retry_now_after_unknown_resends_the_same_id() -> None:
    booth = Booth(retry="none")
    booth.atm.withdraw(7000)
    await booth.world.run_until_idle()
    assert booth.outcomes() == [("T123", "unknown")]
    assert booth.atm.retry_now() is True
    last = booth.sent[-1][1]
    assert (last.txn_id, last.amount, last.attempt) == ("T123", 7000, 2)
    booth.reply("approved")
    assert booth.outcomes() == [("T123", "unknown"), ("T123", "dispensed")]
    assert booth.atm.retry_now("T123") is False  # finished for good: nothing to resend
    assert len(booth.sent) == 2


@pytest.mark.parametrize(("debits", "truth"), [(1, "debited"), (0, "not debited")])
async def test_status_query_resolves_an_unknown_outcome(debits: int, truth: str) -> None:
    booth = Booth(retry="none")
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    assert booth.atm.query_status() == "T123"
    msg = booth.sent[-1][1]
    assert (msg.op, msg.txn_id) == ("status", "T123")
    body = core.canonical({"debits": debits, "debited": 5000 * debits, "status": "x", "txn_id": "T123"})
    booth.atm.on_reply(Message("status", "T123", 1, status="ok", body=body))
    assert [(e.txn_id, e.truth) for e in booth.of(Resolved)] == [("T123", truth)]
    # A second answer resolves nothing more: the outcome is known now.
    booth.atm.on_reply(Message("status", "T123", 1, status="ok", body=body))
    assert len(booth.of(Resolved)) == 1


async def test_status_query_on_a_known_outcome_resolves_nothing() -> None:
    booth = Booth()
    booth.atm.withdraw(5000)
    booth.reply("approved")
    booth.atm.query_status("T123")
    booth.atm.on_reply(Message("status", "T123", 1, status="ok", body='{"debits":1}'))
    assert booth.of(Resolved) == []


@pytest.mark.parametrize("policy", ["none", "fixed", "backoff"])
async def test_auto_retry_off_means_one_attempt(policy: RetryPolicy) -> None:
    booth = Booth(retry=policy, auto_retry=False)
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    assert len(booth.of(Sent)) == 1
    assert booth.outcomes() == [("T123", "unknown")]


async def test_a_lost_read_times_out_and_says_which_read() -> None:
    """A read the network lost is not a write's attempt: it times out under its own name."""
    booth = Booth(retry="none", timeout=3000)
    booth.atm.withdraw(5000)
    booth.atm.query_balance()
    booth.atm.query_status("T123")
    booth.reply("approved", 1)
    await booth.world.run_until_idle()
    reads = [(e.txn_id, e.attempt, e.op) for e in booth.of(TimedOut) if e.op != "withdraw"]
    assert reads == [("B1", 1, "balance"), ("T123", 1, "status")]
    # The write finished on its reply: none of these timeouts is counted as T123 #1's.
    assert [e for e in booth.of(TimedOut) if e.op == "withdraw"] == []
    assert booth.outcomes() == [("T123", "dispensed")]


async def test_an_answered_read_does_not_time_out_and_each_ask_is_its_own_attempt() -> None:
    booth = Booth(timeout=3000)
    booth.atm.query_status("T9")
    booth.atm.query_status("T9")
    asks = [m for _, m in booth.sent if m.op == "status"]
    assert [m.attempt for m in asks] == [1, 2]
    booth.atm.on_reply(Message("status", "T9", 1, status="ok", body='{"status":"not_found"}'))
    await booth.world.run_until_idle()
    assert [(e.txn_id, e.attempt) for e in booth.of(TimedOut)] == [("T9", 2)]


async def test_any_unknown_can_be_named_by_status_and_retry_not_only_the_last() -> None:
    booth = Booth(retry="none", timeout=3000)
    first, second, third = (booth.atm.withdraw(100) for _ in range(3))
    await booth.world.run_until_idle()
    assert booth.atm.unknown == [first, second, third]
    assert booth.atm.last_txn_id == third
    # The oldest unknown, by name: a status query asks about it, a retry resends it.
    assert booth.atm.query_status(first) == first
    assert booth.sent[-1][1].op == "status" and booth.sent[-1][1].txn_id == first
    assert booth.atm.retry_now(first)
    resent = booth.sent[-1][1]
    assert (resent.op, resent.txn_id, resent.attempt, resent.amount) == ("withdraw", first, 2, 100)
    booth.reply("approved", 2, txn=first)
    assert booth.atm.unknown == [second, third]
    assert ("T123", "dispensed") in booth.outcomes()
    assert not booth.atm.retry_now(first)  # settled: nothing left to resend


async def test_a_promised_resend_that_an_answer_makes_needless_is_withdrawn() -> None:
    """Busy, so a resend is promised; then the real answer comes: the promise is taken back."""
    booth = Booth(retry="fixed", fixed_delay=1000, timeout=3000)
    booth.atm.withdraw(5000)
    booth.reply("in_progress", 1)
    assert [(e.txn_id, e.attempt) for e in booth.of(Retrying)] == [("T123", 2)]
    booth.reply("approved", 1)
    await booth.world.run_until_idle()
    assert [(e.txn_id, e.attempt) for e in booth.of(RetryCancelled)] == [("T123", 2)]
    assert [m.attempt for _, m in booth.sent] == [1]  # #2 never went on the wire
    # A resend that does go is never reported as withdrawn.
    other = Booth(retry="fixed", fixed_delay=1000, timeout=3000)
    other.atm.withdraw(5000)
    other.reply("in_progress", 1)
    await other.world.run_until_idle()
    assert [m.attempt for _, m in other.sent] == [1, 2, 3] and other.of(RetryCancelled) == []


async def test_a_rejected_reuse_of_an_id_leaves_the_first_request_unknown() -> None:
    """mismatch: T123 (Rs 5,000) unknown, then T123 reused for Rs 7,000 and refused (422)."""
    booth = Booth(retry="none", timeout=3000)
    booth.atm.withdraw(5000)
    await booth.world.run_until_idle()
    assert booth.atm.unknown == ["T123"]
    booth.atm.withdraw(7000, txn_id="T123")
    booth.reply("rejected", 1)
    assert booth.outcomes() == [("T123", "unknown"), ("T123", "rejected")]
    assert booth.atm.unknown == ["T123"]  # the Rs 5,000 one is still not known
    assert booth.atm.retry_now("T123")  # and `r` resends that one, for its own amount
    assert booth.sent[-1][1].amount == 5000
