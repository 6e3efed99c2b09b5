"""A student's ATM over real HTTP: named, with its own lossy link (lose a request or a reply, send twice).

Textual-free: the interactive student app (`atm-tui client --interactive`, `atm-tui web`) and the
class rehearsal (`atm-tui client --clients N`) both drive it. Every request carries the student's
name in the `Client-Id` header, and every key is minted by the student (`alice-T123`), so two
students never present the same key.

The faults sit on the student's side of the wire, so they are real over HTTP:
- a lost request is never sent: the bank sees nothing, the ATM waits out its timeout;
- a lost reply is sent, the bank commits and answers, and the ATM throws the answer away and
  waits out its timeout, exactly as if the network had lost it on the way back;
- a duplicate is the same request (same key, same body) sent twice at once.
Faults are one-shot (armed by a key press) or drawn with a probability from one seeded RNG.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from atm_tui.http.client import DISPENSED, UNKNOWN, read_answer
from atm_tui.http.retry import RetryPolicy, retry_delay_ms

CLIENT_HEADER = "Client-Id"
# What one attempt came to, as the student's ATM saw it (besides "201", "201 replayed", "409", ...).
REQUEST_LOST = "request lost"
REPLY_LOST = "reply lost"
NO_REPLY = "no reply"
TIMEOUT = "timeout"


@dataclass(slots=True)
class LinkFaults:
    """The student's network: one-shot faults armed by keys, and probabilities for a rehearsal."""

    drop_request: float = 0.0
    drop_reply: float = 0.0
    duplicate: float = 0.0
    next_requests_lost: int = 0
    next_replies_lost: int = 0
    next_duplicated: int = 0

    def take(self, rng: random.Random) -> tuple[bool, bool, bool]:
        """This attempt's fate: (request lost, sent twice, reply lost); one-shots first."""
        lose_request = self._one_shot("next_requests_lost") or _draw(rng, self.drop_request)
        if lose_request:
            return True, False, False
        twice = self._one_shot("next_duplicated") or _draw(rng, self.duplicate)
        lose_reply = self._one_shot("next_replies_lost") or _draw(rng, self.drop_reply)
        return False, twice, lose_reply

    def _one_shot(self, name: str) -> bool:
        armed = int(getattr(self, name))
        if armed <= 0:
            return False
        setattr(self, name, armed - 1)
        return True


def _draw(rng: random.Random, p: float) -> bool:
    return p > 0 and rng.random() < p


@dataclass(frozen=True, slots=True)
class Note:
    """One line of what happened, for the student's log: `alice-T123 #2 → 201 replayed`."""

    key: str
    attempt: int
    seen: str
    detail: str = ""

    def line(self) -> str:
        more = f" ({self.detail})" if self.detail else ""
        return f"{self.key} #{self.attempt} → {self.seen}{more}"


@dataclass(slots=True)
class StudentConfig:
    url: str
    name: str
    account: str = "A-1001"
    amount: int = 5_000
    first_id: int = 123
    timeout_ms: int = 3_000
    retry: RetryPolicy = "backoff"
    max_attempts: int = 3
    backoff_base: int = 1_000
    backoff_cap: int = 8_000
    seed: int = 0
    auto_retry: bool = True


@dataclass(slots=True)
class StudentTally:
    """What this student's ATM saw: attempts, what came back, and each key's outcome."""

    attempts: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # key -> dispensed/declined/unknown/refused
    debits: dict[str, int] = field(default_factory=dict)  # key -> ledger rows, from the status query

    def saw(self, what: str) -> None:
        self.answers[what] = self.answers.get(what, 0) + 1

    @property
    def doubled(self) -> list[str]:
        return sorted(k for k, n in self.debits.items() if n > 1)

    @property
    def lost(self) -> list[str]:
        """Keys the ATM dispensed for but the bank did not debit exactly once."""
        return sorted(k for k, o in self.outcomes.items() if o == DISPENSED and self.debits.get(k) != 1)


class StudentAtm:
    """One student's ATM: mints keys, sends through its lossy link, retries with the same key."""

    def __init__(self, cfg: StudentConfig, *, on_note: Callable[[Note], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.cfg = cfg
        self.faults = LinkFaults()
        self.rng = random.Random(cfg.seed)
        self.tally = StudentTally()
        self.on_note = on_note
        self.next_id = cfg.first_id
        self.last_key: str | None = None
        self.busy: set[str] = set()
        self.http = httpx.AsyncClient(base_url=cfg.url, timeout=cfg.timeout_ms / 1000, transport=transport,
                                      headers={CLIENT_HEADER: cfg.name})
        self._attempts: dict[str, int] = {}
        self._amount_of: dict[str, int] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def mint(self) -> str:
        key = f"{self.cfg.name}-T{self.next_id}"
        self.next_id += 1
        return key

    def _note(self, key: str, attempt: int, seen: str, detail: str = "") -> None:
        self.tally.saw(seen)
        if self.on_note is not None:
            self.on_note(Note(key, attempt, seen, detail))

    async def withdraw(self, amount: int | None = None) -> str:
        """A new withdrawal under a new key; with auto retry, until an answer or the attempts run out."""
        key = self.mint()
        self.last_key = key
        self._amount_of[key] = amount if amount is not None else self.cfg.amount
        return await self._until_answer(key, self.cfg.max_attempts if self.cfg.auto_retry else 1)

    async def retry_now(self) -> str | None:
        """The last withdrawal once more: same key, same body. None if there is nothing to retry."""
        key = self.last_key
        if key is None or key in self.busy:
            return None
        return await self._until_answer(key, 1)

    async def _until_answer(self, key: str, attempts: int) -> str:
        self.busy.add(key)
        try:
            outcome = UNKNOWN
            for n in range(1, attempts + 1):
                found = await self._attempt(key)
                if found is not None:
                    outcome = found
                    break
                if self.cfg.retry == "none" or n == attempts:
                    break
                delay = retry_delay_ms(self.cfg.retry, n, self.rng, base=self.cfg.backoff_base,
                                       cap=self.cfg.backoff_cap)
                await asyncio.sleep(delay / 1000)
            if outcome != UNKNOWN or key not in self.tally.outcomes:
                self.tally.outcomes[key] = outcome
            return outcome
        finally:
            self.busy.discard(key)

    async def _attempt(self, key: str) -> str | None:
        """One attempt through the link: the outcome it settles, or None (retry)."""
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        self.tally.attempts += 1
        lose_request, twice, lose_reply = self.faults.take(self.rng)
        if lose_request:
            self._note(key, attempt, REQUEST_LOST, "never reached the bank; waiting out the timeout")
            await asyncio.sleep(self.cfg.timeout_ms / 1000)
            return None
        sends = [self._post(key), self._post(key)] if twice else [self._post(key)]
        results = await asyncio.gather(*sends)
        if lose_reply:  # every reply of this attempt is lost on the way back
            answered = [seen for seen, _ in results if seen not in (NO_REPLY, TIMEOUT)]
            for seen in answered:
                self._note(key, attempt, REPLY_LOST, f"the bank answered {seen}; it never arrived")
            if answered:
                await asyncio.sleep(self.cfg.timeout_ms / 1000)
                return None
        for n, (seen, _) in enumerate(results):
            self._note(key, attempt, seen, "the duplicate's answer" if n else "")
        # Sent twice, the ATM takes the first answer that settles the withdrawal.
        return next((outcome for _, outcome in results if outcome is not None), None)

    async def _post(self, key: str) -> tuple[str, str | None]:
        amount = self._amount_of.get(key, self.cfg.amount)
        try:
            answer = await self.http.post(f"/accounts/{self.cfg.account}/withdrawals",
                                          json={"amount": amount},
                                          headers={"Idempotency-Key": key})
        except httpx.TimeoutException:
            return TIMEOUT, None
        except httpx.TransportError:
            return NO_REPLY, None
        return read_answer(answer)

    async def status(self, key: str | None = None) -> tuple[str, int]:
        """The status query (a read, safe to repeat): the key's stored status and its debits."""
        key = key or self.last_key
        if key is None:
            return "none", 0
        answer = await self.http.get(f"/transactions/{key}", params={"account": self.cfg.account})
        if answer.status_code == 404:
            return "not_found", 0
        answer.raise_for_status()
        data = answer.json()
        debits = int(data.get("debits", 0))
        self.tally.debits[key] = debits
        return str(data["status"]), debits

    async def balance(self) -> int | None:
        answer = await self.http.get(f"/accounts/{self.cfg.account}")
        return int(answer.json()["balance"]) if answer.status_code == 200 else None
