"""The HTTP ATM's retry policy: the engine's names and its full-jitter backoff, as a pure function.

`sim/atm/atm.py` keeps its backoff inside the ATM class (drawn from the engine's seeded RNG), and
http/ may import only bank/, so the same rule is written here.
"""

from __future__ import annotations

import random
from typing import Literal

RetryPolicy = Literal["none", "fixed", "backoff"]
RETRY_POLICIES: tuple[RetryPolicy, ...] = ("none", "fixed", "backoff")  # as in sim/atm/config.py


def retry_delay_ms(policy: RetryPolicy, attempt: int, rng: random.Random, *, base: int = 1_000,
                   cap: int = 8_000, fixed: int = 1_000) -> int:
    """Wait before attempt `attempt + 1`: fixed, or AWS full jitter uniform(0, min(cap, base*2**(n-1)))."""
    if policy == "fixed":
        return fixed
    return rng.randint(0, min(cap, base * 2 ** (attempt - 1)))
