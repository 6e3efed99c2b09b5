"""Every knob of a log pipeline run, and the names of the faults it can be given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from atm_tui.bank.pipeline_store import ConsumerMode

Fault = Literal["lost_ack", "crash", "zombie"]
FAULTS: tuple[Fault, ...] = ("lost_ack", "crash", "zombie")
# Asked by the producer and the consumer at each fault point: does this fault strike now?
Decide = Callable[[Fault], bool]


@dataclass(slots=True)
class PipelineConfig:
    """Every knob of a pipeline run. Times are virtual milliseconds; probabilities 0..1."""

    seed: int = 0
    messages: int = 20
    amount: int = 500
    partitions: int = 1
    producer_idempotent: bool = True
    consumer: ConsumerMode = "idempotent"
    lost_ack: float = 0.0
    crash_before_commit: float = 0.0
    zombie: float = 0.0
    produce_every: int = 200  # the payment service creates a message this often
    latency: int = 50  # producer <-> broker, each way
    request_timeout: int = 1_000
    retry_backoff: int = 100
    max_attempts: int = 10
    max_in_flight: int = 5
    fetch_latency: int = 50
    processing: int = 100
    commit_delay: int = 50  # naive/idempotent: the gap between the charge and the offset commit
    restart: int = 2_000
    session_timeout: int = 3_000  # a member silent this long is replaced
    stall: int = 6_000  # how long a zombie is frozen (longer than the session timeout)
    ttl: int = 86_400_000
    topic: str = "payments"
    group: str = "billing"
    producer_name: str = "payment-service"
    prefix: str = "M"
    first_id: int = 1
