"""What a scenario file may say: its top-level keys, its [start] and [faults] settings, their defaults.

The format is documented in docs/scenarios.md; parsing.py checks a file against these tables.
"""

from __future__ import annotations

from atm_tui.bank.core import MODES
from atm_tui.bank.money import MAX_BALANCE
from atm_tui.bank.pipeline_store import CONSUMER_MODES
from atm_tui.scenarios.actions import MAX_MS, Param, rupees
from atm_tui.scenarios.timing import MAX_HOLD, MIN_HOLD, MIN_SET_HOLD, READING_CPS
from atm_tui.sim.atm.config import RETRY_POLICIES
from atm_tui.sim.pipeline.pipeline import REMEMBERED_BATCHES

MAX_SEED = 2**63 - 1

# The starting state: key -> (parameter, field it sets). Defaults are the engine's.
START: dict[str, Param] = {
    "opening_balance": Param(int, default=50_000, lo=0, hi=MAX_BALANCE),
    "mode": Param(str, default="idempotent", choices=MODES),
    "amount": rupees(default=5_000),
    "ttl_ms": Param(int, default=86_400_000, lo=1, hi=MAX_MS),
    "processing_ms": Param(int, default=300, lo=0, hi=MAX_MS),
    "restart_ms": Param(int, default=2_000, lo=0, hi=MAX_MS),
    "timeout_ms": Param(int, default=3_000, lo=1, hi=MAX_MS),
    "retry": Param(str, default="fixed", choices=RETRY_POLICIES),
    "max_attempts": Param(int, default=3, lo=1, hi=100),
    "retry_delay_ms": Param(int, default=1_000, lo=0, hi=MAX_MS),
    "backoff_base_ms": Param(int, default=1_000, lo=0, hi=MAX_MS),
    "backoff_cap_ms": Param(int, default=8_000, lo=0, hi=MAX_MS),
    "auto_retry": Param(bool, default=True),
    "first_id": Param(int, default=123, lo=0, hi=10**12),
    # How the diagram names the messages: the engine's words, or the HTTP bank's (`serve`).
    "wire": Param(str, default="engine", choices=("engine", "http")),
}
FAULTS: dict[str, Param] = {
    "latency_ms": Param(int, default=500, lo=0, hi=MAX_MS),
    "jitter_ms": Param(int, default=0, lo=0, hi=MAX_MS),
    # Percentages, not floats: a scenario is exact, and 0.1 is not.
    "request_drop_pct": Param(int, default=0, lo=0, hi=100),
    "reply_drop_pct": Param(int, default=0, lo=0, hi=100),
    "duplicate_pct": Param(int, default=0, lo=0, hi=100),
}
# kind = "pipeline": the scenario drives the log pipeline (sim/pipeline/pipeline.py) instead of the ATM
# engine; [start] and [faults] then take the pipeline's settings, and steps its actions.
KINDS = ("atm", "pipeline")
PIPELINE_START: dict[str, Param] = {
    "opening_balance": Param(int, default=50_000, lo=0, hi=MAX_BALANCE),
    "amount": rupees(default=500),
    "partitions": Param(int, default=1, lo=1, hi=16),
    "producer_idempotent": Param(bool, default=True),
    "consumer": Param(str, default="idempotent", choices=CONSUMER_MODES),
    "produce_every_ms": Param(int, default=200, lo=0, hi=MAX_MS),
    "latency_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "request_timeout_ms": Param(int, default=1_000, lo=1, hi=MAX_MS),
    "retry_backoff_ms": Param(int, default=100, lo=0, hi=MAX_MS),
    "max_attempts": Param(int, default=10, lo=1, hi=100),
    # Kafka's idempotent producer allows at most 5 batches in flight (the broker remembers 5).
    "max_in_flight": Param(int, default=REMEMBERED_BATCHES, lo=1, hi=REMEMBERED_BATCHES),
    "fetch_latency_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "processing_ms": Param(int, default=100, lo=0, hi=MAX_MS),
    "commit_delay_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "restart_ms": Param(int, default=2_000, lo=0, hi=MAX_MS),
    "session_timeout_ms": Param(int, default=3_000, lo=1, hi=MAX_MS),
    "stall_ms": Param(int, default=6_000, lo=0, hi=MAX_MS),
    "ttl_ms": Param(int, default=86_400_000, lo=1, hi=MAX_MS),
    "first_id": Param(int, default=1, lo=1, hi=10**12),
}
PIPELINE_FAULTS: dict[str, Param] = {
    # Below 100: at 100 the consumer would fail on every message forever.
    "lost_ack_pct": Param(int, default=0, lo=0, hi=100),
    "crash_before_commit_pct": Param(int, default=0, lo=0, hi=99),
    "zombie_pct": Param(int, default=0, lo=0, hi=99),
}
# A built-in scenario's place in the lesson (1 is told first): `atm-tui scenarios`, the palette
# and `--scenario`'s list show them in this order. A file of your own may leave it out.
LESSON = Param(int, lo=1, hi=999)
TOP: dict[str, Param] = {
    "title": Param(str, required=True),
    "summary": Param(str, required=True),
    "seed": Param(int, default=0, lo=0, hi=MAX_SEED),
    "lesson": LESSON,
    "kind": Param(str, default="atm", choices=KINDS),
}
TABLES = ("start", "faults", "steps")
STEP_KEYS = ("caption", "actions", "wait_ms", "hold")
HOLD_EXPECTED = (
    f"seconds on screen, a number from {MIN_SET_HOLD:g} to {MAX_HOLD:g} (or leave it out: the"
    f" caption's reading time, {READING_CPS} characters a second, at least {MIN_HOLD:g} s)"
)
EXAMPLE = '{ do = "withdraw", amount = 5000 } or a plain "withdraw"'
