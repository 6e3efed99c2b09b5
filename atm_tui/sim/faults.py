"""One fault-injection point: a script of yes/no answers, armed one-shots, then a seeded rate.

Every place a fault can strike asks its point `strike(rng)` at that moment. The order is fixed
(a script first, then the one-shots a teacher armed, then the probability drawn from the one
seeded RNG), so the same seed and the same controls strike at the same moments.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class FaultPoint:
    """`armed`: one-shots left (the next n times strike); `rate`: probability per chance; `script`."""

    rate: float = 0.0
    armed: int = 0
    script: list[bool] = field(default_factory=list)

    def arm(self, n: int = 1) -> None:
        self.armed += n

    def strike(self, rng: random.Random) -> bool:
        """Does the fault strike now? Consumes a scripted answer or a one-shot if there is one."""
        if self.script:
            return self.script.pop(0)
        if self.armed > 0:
            self.armed -= 1
            return True
        p = self.rate
        return p > 0.0 and rng.random() < p

    def take_one_shot(self) -> bool:
        """A point with no script or rate (the bank's crash in the gap): use up one armed shot."""
        if self.armed > 0:
            self.armed -= 1
            return True
        return False
