"""Every knob of a run in one place, with the defaults the CLI, the UI and scenarios share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from atm_tui.bank.core import Mode

RetryPolicy = Literal["none", "fixed", "backoff"]
RETRY_POLICIES: tuple[RetryPolicy, ...] = ("none", "fixed", "backoff")


@dataclass(slots=True)
class LinkConfig:
    """One direction of the network. Times are virtual milliseconds; probabilities 0..1."""

    latency: int = 500
    jitter: int = 500
    drop: float = 0.0
    duplicate: float = 0.0


@dataclass(slots=True)
class AtmConfig:
    """The ATM client: its ids, its patience and its retry policy."""

    prefix: str = "T"
    first_id: int = 123
    client: str = "atm"  # this ATM's client id, stored with its keys, deliveries and ledger rows
    timeout: int = 3_000
    retry: RetryPolicy = "backoff"
    max_attempts: int = 3
    fixed_delay: int = 1_000
    backoff_base: int = 1_000
    backoff_cap: int = 8_000
    auto_retry: bool = True


@dataclass(slots=True)
class BankTiming:
    """Time inside the bank: how long one delivery takes, and how long a key is remembered."""

    processing: int = 300
    ttl: int = 86_400_000
    restart: int = 2_000


@dataclass(slots=True)
class SimConfig:
    seed: int = 0
    mode: Mode = "idempotent"
    amount: int = 5_000
    request: LinkConfig = field(default_factory=LinkConfig)
    reply: LinkConfig = field(default_factory=LinkConfig)
    atm: AtmConfig = field(default_factory=AtmConfig)
    bank: BankTiming = field(default_factory=BankTiming)
