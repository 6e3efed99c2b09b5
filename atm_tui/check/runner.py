"""Running a check: the proxy, the clients, and every rule one after another."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from atm_tui.check.probe import CheckError, Options, Probe
from atm_tui.check.proxy import FaultProxy
from atm_tui.check.rules import RULES, Rule, Verdict, name_of, select
from atm_tui.check.target import Target


@dataclass(slots=True)
class Outcome:
    """A finished check: its run id (in every key it sent), the verdicts, the seconds it took."""

    target: Target
    run_id: str
    verdicts: list[Verdict]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(v.passed for v in self.verdicts if v.required)

    def summary(self) -> str:
        """One line: every required rule holds, or which are broken and which could not run."""
        broken = [v.rule for v in self.verdicts if v.required and v.verdict == "fail"]
        unrun = [v.rule for v in self.verdicts if v.required and v.verdict == "skip"]
        if not broken and not unrun:
            return "every required rule holds"
        parts = []
        if broken:
            plural = "" if len(broken) == 1 else "s"
            parts.append(f"{len(broken)} required rule{plural} broken: {', '.join(broken)}")
        if unrun:
            parts.append(f"{len(unrun)} could not run")
        return "; ".join(parts)


# Told each rule's name as it starts (verdict None), then each of its verdicts.
Progress = Callable[[str, "Verdict | None"], None]


async def run_check(target: Target, options: Options, rules: list[Rule] | None = None,
                    progress: Progress | None = None) -> Outcome:
    """Run the rules against the target through a fresh proxy; CheckError if it cannot start."""
    start = time.perf_counter()
    run_id = options.run_id or secrets.token_hex(3)
    verdicts: list[Verdict] = []
    async with FaultProxy(target.base, key_header=target.key_header, timeout_s=options.timeout_s) as proxy:
        proxy.listeners.extend(options.listeners)
        async with httpx.AsyncClient(base_url=proxy.url, timeout=options.timeout_s) as client, \
                httpx.AsyncClient(timeout=options.timeout_s) as direct:
            try:
                await direct.request("HEAD", target.base, timeout=5)
            except httpx.HTTPError as exc:
                raise CheckError(f"{target.base}: cannot connect ({type(exc).__name__}); is the server"
                                 " running there?") from None
            probe = Probe(target, proxy, client, direct, run_id, options.restart_cmd)
            chosen = rules if rules is not None else select(list(options.only)) if options.only else RULES
            for rule in chosen:
                name = name_of(rule)
                if progress is not None:
                    progress(name, None)
                found = await rule(probe, options)
                await probe.settle()
                verdicts.extend(found)
                if progress is not None:
                    for verdict in found:
                        progress(verdict.rule, verdict)
    return Outcome(target, run_id, verdicts, time.perf_counter() - start)
