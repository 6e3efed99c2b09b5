"""Hypothesis profiles: the default (what CI runs: every property's full example count) and `fast`
(`python3 dev.py test --fast`, the inner loop: a tenth of the examples)."""

from __future__ import annotations

from hypothesis import settings

FAST_EXAMPLES = 10
settings.register_profile("fast", max_examples=FAST_EXAMPLES)


def examples(n: int) -> int:
    """A property's example count: `n` in the default profile, a tenth of it (at least 5) under `fast`."""
    current = settings.default
    return n if current is None or current.max_examples > FAST_EXAMPLES else max(5, n // 10)
