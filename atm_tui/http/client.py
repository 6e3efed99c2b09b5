"""The HTTP ATM: withdrawals over real HTTP with the engine's retry policy, and a summary.

At-least-once over a real network: every attempt of a withdrawal carries the same key, a
timeout or a lost connection is retried after a backoff, a 409 is retried, and an outcome still
unknown after the last attempt is settled by the status query (a GET, safe to repeat).
The backoff is `retry.py`'s pure function (the engine's full jitter; sim/atm/atm.py keeps its own
inside the ATM class).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from atm_tui.http.retry import RetryPolicy, retry_delay_ms

DISPENSED = "dispensed"
DECLINED = "declined"
UNKNOWN = "unknown"
REFUSED = "refused"  # a 4xx other than 409: the bank will never do it; retrying cannot help


@dataclass(slots=True)
class ClientConfig:
    url: str
    account: str = "A-1001"
    withdrawals: int = 1
    amount: int = 5_000
    prefix: str = "T"
    first_id: int = 123
    timeout_ms: int = 3_000
    retry: RetryPolicy = "backoff"
    max_attempts: int = 3
    backoff_base: int = 1_000
    backoff_cap: int = 8_000
    seed: int = 0
    name: str = ""  # the Client-Id header: this ATM's keys are its own ('' sends none: anonymous)


@dataclass(slots=True)
class ClientReport:
    """What the HTTP ATM saw, and what the bank says it did, key by key."""

    outcomes: dict[str, str] = field(default_factory=dict)  # key -> dispensed/declined/unknown/refused
    answers: Counter[str] = field(default_factory=Counter)  # "201", "201 replayed", "409", "timeout", ...
    attempts: int = 0
    debits: dict[str, int] = field(default_factory=dict)  # key -> ledger rows, from the status query
    owners: dict[str, str] = field(default_factory=dict)  # key -> the client the bank stored it for
    name: str = ""
    resolved: dict[str, str] = field(default_factory=dict)  # unknown key -> status the query found
    balance_before: int | None = None
    balance_after: int | None = None
    elapsed: float = 0.0

    @property
    def doubled(self) -> list[str]:
        return sorted(k for k, n in self.debits.items() if n > 1)

    @property
    def ok(self) -> bool:
        """Exactly once: no key debited twice, every dispensed key debited once, for this client."""
        return not self.doubled and not self.unbacked

    @property
    def unbacked(self) -> list[str]:
        """Dispensed keys without exactly one debit stored for this client: cash with no debit."""
        return sorted(k for k, o in self.outcomes.items()
                      if o == DISPENSED and (self.debits.get(k) != 1 or self.owners.get(k, "") != self.name))

    def to_dict(self) -> dict[str, Any]:
        counts = Counter(self.outcomes.values())
        return {"withdrawals": len(self.outcomes), "attempts": self.attempts,
                "outcomes": {k: counts.get(k, 0) for k in (DISPENSED, DECLINED, UNKNOWN, REFUSED)},
                "answers": dict(sorted(self.answers.items())), "resolved": self.resolved,
                "doubled": self.doubled, "unbacked": self.unbacked, "client": self.name,
                "balance_before": self.balance_before,
                "balance_after": self.balance_after, "exactly_once": self.ok,
                "elapsed_s": round(self.elapsed, 3)}


def _headers(cfg: ClientConfig, key: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **({"Client-Id": cfg.name} if cfg.name else {})}


async def _attempt(client: httpx.AsyncClient, cfg: ClientConfig, key: str) -> tuple[str, str | None]:
    """One send: (what came back, the final outcome or None to retry)."""
    try:
        answer = await client.post(f"/accounts/{cfg.account}/withdrawals", json={"amount": cfg.amount},
                                   headers=_headers(cfg, key), timeout=cfg.timeout_ms / 1000)
    except httpx.TimeoutException:
        return "timeout", None
    except httpx.TransportError:  # refused, reset, closed without an answer: all "no reply"
        return "no reply", None
    return read_answer(answer)


def read_answer(answer: httpx.Response) -> tuple[str, str | None]:
    """What the ATM saw (`201 replayed`, ...) and the outcome it settles (None: not settled yet)."""
    seen = str(answer.status_code) + (" replayed" if answer.headers.get("idempotent-replayed") else "")
    if answer.status_code == 201:
        return seen, DISPENSED
    if answer.status_code == 402:
        return seen, DECLINED
    if answer.status_code in (409, 503):
        return seen, None
    return seen, REFUSED


async def withdraw(client: httpx.AsyncClient, cfg: ClientConfig, key: str, rng: random.Random,
                   report: ClientReport) -> str:
    """Send one withdrawal under `key` until an answer, or until the attempts run out."""
    for attempt in range(1, cfg.max_attempts + 1):
        report.attempts += 1
        seen, outcome = await _attempt(client, cfg, key)
        report.answers[seen] += 1
        if outcome is not None:
            return outcome
        if cfg.retry == "none" or attempt == cfg.max_attempts:
            break
        delay = retry_delay_ms(cfg.retry, attempt, rng, base=cfg.backoff_base, cap=cfg.backoff_cap)
        await asyncio.sleep(delay / 1000)
    return UNKNOWN


async def _status(client: httpx.AsyncClient, cfg: ClientConfig, key: str) -> tuple[str, int, str]:
    """(status, ledger rows, the client the key belongs to) of one key, from the status query."""
    answer = await client.get(f"/transactions/{key}", params={"account": cfg.account})
    if answer.status_code == 404:
        return "not_found", 0, ""
    answer.raise_for_status()
    data = answer.json()
    return str(data["status"]), int(data.get("debits", 0)), str(data.get("client", ""))


async def _balance(client: httpx.AsyncClient, cfg: ClientConfig) -> int | None:
    answer = await client.get(f"/accounts/{cfg.account}")
    return int(answer.json()["balance"]) if answer.status_code == 200 else None


async def run(cfg: ClientConfig) -> ClientReport:
    """The ATM's customers one after another, then the status query for every key."""
    rng = random.Random(cfg.seed)
    report = ClientReport(name=cfg.name)
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=cfg.url, timeout=cfg.timeout_ms / 1000) as client:
        report.balance_before = await _balance(client, cfg)
        for n in range(cfg.withdrawals):
            key = f"{cfg.prefix}{cfg.first_id + n}"
            report.outcomes[key] = await withdraw(client, cfg, key, rng, report)
        for key, outcome in report.outcomes.items():
            status, debits, owner = await _status(client, cfg, key)
            report.debits[key] = debits
            report.owners[key] = owner
            if outcome == UNKNOWN:
                report.resolved[key] = status
        report.balance_after = await _balance(client, cfg)
    report.elapsed = time.perf_counter() - start
    return report
