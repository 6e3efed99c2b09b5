"""The scenario's data classes: a validated Scenario, its Steps and Actions, and ScenarioError."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank.core import Mode
from atm_tui.bank.pipeline_store import ConsumerMode
from atm_tui.sim.atm.config import AtmConfig, BankTiming, LinkConfig, RetryPolicy, SimConfig
from atm_tui.sim.pipeline.pipeline import PipelineConfig


class ScenarioError(Exception):
    """A scenario that cannot be used; the message is one line: file, line, what was expected."""


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    args: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class Step:
    caption: str
    actions: tuple[Action, ...]
    wait_ms: int | None  # None: run until idle after the actions
    line: int
    hold: float | None = None  # seconds on screen once played; None: from the caption (timing.py)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    source: str  # how messages name the file
    title: str
    summary: str
    seed: int
    start: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    kind: str = "atm"  # atm: the ATM Engine; pipeline: the log Pipeline

    def pipeline_config(self, seed: int | None = None) -> PipelineConfig:
        """The log pipeline's configuration for a kind = "pipeline" scenario."""
        if self.kind != "pipeline":
            raise ValueError(f"scenario {self.name} drives the ATM engine, not the pipeline")
        s, f = self.start, self.faults
        consumer: ConsumerMode = s["consumer"]
        return PipelineConfig(
            seed=self.seed if seed is None else seed,
            messages=0,  # the steps' "produce" actions create them
            amount=s["amount"],
            partitions=s["partitions"],
            producer_idempotent=s["producer_idempotent"],
            consumer=consumer,
            lost_ack=f["lost_ack_pct"] / 100,
            crash_before_commit=f["crash_before_commit_pct"] / 100,
            zombie=f["zombie_pct"] / 100,
            produce_every=s["produce_every_ms"],
            latency=s["latency_ms"],
            request_timeout=s["request_timeout_ms"],
            retry_backoff=s["retry_backoff_ms"],
            max_attempts=s["max_attempts"],
            max_in_flight=s["max_in_flight"],
            fetch_latency=s["fetch_latency_ms"],
            processing=s["processing_ms"],
            commit_delay=s["commit_delay_ms"],
            restart=s["restart_ms"],
            session_timeout=s["session_timeout_ms"],
            stall=s["stall_ms"],
            ttl=s["ttl_ms"],
            first_id=s["first_id"],
        )

    def sim_config(self, seed: int | None = None) -> SimConfig:
        """The engine's configuration for this scenario's starting state and faults."""
        if self.kind != "atm":
            raise ValueError(f"scenario {self.name} drives the log pipeline, not the ATM engine")
        s, f = self.start, self.faults
        retry: RetryPolicy = s["retry"]
        mode: Mode = s["mode"]

        def link(drop: int, duplicate: int) -> LinkConfig:
            return LinkConfig(f["latency_ms"], f["jitter_ms"], drop / 100, duplicate / 100)

        return SimConfig(
            seed=self.seed if seed is None else seed,
            mode=mode,
            amount=s["amount"],
            request=link(f["request_drop_pct"], f["duplicate_pct"]),
            reply=link(f["reply_drop_pct"], 0),
            atm=AtmConfig(
                first_id=s["first_id"],
                timeout=s["timeout_ms"],
                retry=retry,
                max_attempts=s["max_attempts"],
                fixed_delay=s["retry_delay_ms"],
                backoff_base=s["backoff_base_ms"],
                backoff_cap=s["backoff_cap_ms"],
                auto_retry=s["auto_retry"],
            ),
            bank=BankTiming(processing=s["processing_ms"], ttl=s["ttl_ms"], restart=s["restart_ms"]),
        )
