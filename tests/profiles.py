"""The two tiers of the suite. Hypothesis profiles: the default (what CI runs: every property's
full example count) and `fast` (`python3 dev.py test --fast`, the inner loop: a tenth of the
examples). And `tiered`: a parametrised test that plays every scenario keeps a few of them in the
inner loop and marks the rest `slow` (CI runs them all)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import settings

FAST_EXAMPLES = 10
settings.register_profile("fast", max_examples=FAST_EXAMPLES)


def examples(n: int) -> int:
    """A property's example count: `n` in the default profile, a tenth of it (at least 5) under `fast`."""
    current = settings.default
    return n if current is None or current.max_examples > FAST_EXAMPLES else max(5, n // 10)


# One ATM story and one pipeline story: the two screens a scenario can play on.
INNER_LOOP_SCENARIOS = ("t123", "kafka")


def tiered(names: Iterable[str], keep: Iterable[str] = INNER_LOOP_SCENARIOS) -> list[object]:
    """`names` as parameters: those in `keep` as they are, every other one marked `slow`."""
    kept = set(keep)
    return [n if n in kept else pytest.param(n, marks=pytest.mark.slow) for n in names]
