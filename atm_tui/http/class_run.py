"""A class in one command: N named student ATMs at once against one bank, then the bank's check.

Each student withdraws through their own lossy link (http/student.py) with their own seeded RNG
(the run's seed plus their number), so a rehearsal is repeatable in what each link decides;
the interleaving at the bank is the real network's. After the last withdrawal every key is
asked of the bank (the status query): the exactly-once check is the bank's answer, not the
clients' belief.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from atm_tui.http.client import DECLINED, DISPENSED, REFUSED, UNKNOWN
from atm_tui.http.student import REPLY_LOST, REQUEST_LOST, StudentAtm, StudentConfig, StudentTally

OUTCOMES = (DISPENSED, DECLINED, UNKNOWN, REFUSED)


@dataclass(slots=True)
class ClassConfig:
    student: StudentConfig  # the template: its name is the prefix, its seed the run's seed
    clients: int = 30
    withdrawals: int = 20
    drop_request: float = 0.0
    drop_reply: float = 0.0
    duplicate: float = 0.0

    def names(self) -> list[str]:
        width = max(2, len(str(self.clients)))
        return [f"{self.student.name}{n:0{width}d}" for n in range(1, self.clients + 1)]


@dataclass(slots=True)
class ClassReport:
    tallies: dict[str, StudentTally] = field(default_factory=dict)
    balance_before: int | None = None
    balance_after: int | None = None
    debited_rupees: int = 0  # the amounts of the keys the bank says it debited
    elapsed: float = 0.0

    @property
    def doubled(self) -> list[str]:
        return sorted(k for t in self.tallies.values() for k in t.doubled)

    @property
    def lost(self) -> list[str]:
        return sorted(k for t in self.tallies.values() for k in t.lost)

    @property
    def ok(self) -> bool:
        """No key debited twice and every dispensed key debited exactly once, by the bank's word."""
        return not self.doubled and not self.lost

    def lane(self, name: str) -> dict[str, Any]:
        t = self.tallies[name]
        counts = Counter(t.outcomes.values())
        return {"name": name, "withdrawals": len(t.outcomes), "attempts": t.attempts,
                "requests_lost": t.answers.get(REQUEST_LOST, 0), "replies_lost": t.answers.get(REPLY_LOST, 0),
                "outcomes": {o: counts.get(o, 0) for o in OUTCOMES},
                "debits": sum(t.debits.values()), "doubled": t.doubled, "lost": t.lost}

    def to_dict(self) -> dict[str, Any]:
        return {"clients": [self.lane(n) for n in self.tallies], "doubled": self.doubled, "lost": self.lost,
                "balance_before": self.balance_before, "balance_after": self.balance_after,
                "debited_rupees": self.debited_rupees, "exactly_once": self.ok,
                "elapsed_s": round(self.elapsed, 3)}


async def _one_student(cfg: ClassConfig, name: str, number: int) -> StudentTally:
    t = cfg.student
    student_cfg = StudentConfig(url=t.url, name=name, account=t.account, amount=t.amount, first_id=t.first_id,
                                timeout_ms=t.timeout_ms, retry=t.retry, max_attempts=t.max_attempts,
                                backoff_base=t.backoff_base, backoff_cap=t.backoff_cap, seed=t.seed + number)
    atm = StudentAtm(student_cfg)
    atm.faults.drop_request, atm.faults.drop_reply = cfg.drop_request, cfg.drop_reply
    atm.faults.duplicate = cfg.duplicate
    try:
        for _ in range(cfg.withdrawals):
            await atm.withdraw()
        atm.faults.drop_request = atm.faults.drop_reply = atm.faults.duplicate = 0.0
        for key in list(atm.tally.outcomes):
            await atm.status(key)
    finally:
        await atm.close()
    return atm.tally


async def run_class(cfg: ClassConfig) -> ClassReport:
    """Every student at once; then the bank's word on every key and the balance."""
    report = ClassReport()
    start = time.perf_counter()
    probe = StudentAtm(StudentConfig(url=cfg.student.url, name=f"{cfg.student.name}-check",
                                     account=cfg.student.account))
    try:
        report.balance_before = await probe.balance()
        names = cfg.names()
        tallies = await asyncio.gather(*(_one_student(cfg, name, n) for n, name in enumerate(names, 1)))
        report.tallies = dict(zip(names, tallies, strict=True))
        report.balance_after = await probe.balance()
    finally:
        await probe.close()
    report.debited_rupees = cfg.student.amount * sum(min(n, 1) for t in tallies for n in t.debits.values())
    report.elapsed = time.perf_counter() - start
    return report


def report_lines(report: ClassReport, url: str) -> list[str]:
    """The per-client table and the bank's exactly-once check, as printed by `atm-tui client --clients`."""
    from atm_tui.bank.money import rupees

    lines = [f"bank {url}: {len(report.tallies)} clients at once",
             f"{'client':<12} {'wdl':>4} {'tries':>5} {'req lost':>8} {'rep lost':>8} {'dispensed':>9}"
             f" {'declined':>8} {'unknown':>7} {'refused':>7} {'debits':>6}  check"]
    for name in report.tallies:
        d = report.lane(name)
        o = d["outcomes"]
        verdict = "ok" if not d["doubled"] and not d["lost"] else f"DOUBLED {d['doubled']} LOST {d['lost']}"
        lines.append(f"{name:<12} {d['withdrawals']:>4} {d['attempts']:>5} {d['requests_lost']:>8}"
                     f" {d['replies_lost']:>8} {o[DISPENSED]:>9} {o[DECLINED]:>8} {o[UNKNOWN]:>7}"
                     f" {o[REFUSED]:>7} {d['debits']:>6}  {verdict}")
    if report.balance_before is not None and report.balance_after is not None:
        lines.append(f"balance: {rupees(report.balance_before)} -> {rupees(report.balance_after)}"
                     f" ({rupees(report.debited_rupees)} debited by the keys above)")
    if report.ok:
        lines.append("the bank's exactly-once check: every key debited at most once,"
                     " every dispensed key exactly once")
    else:
        lines.append(f"the bank's exactly-once check FAILED: doubled {report.doubled}, lost {report.lost}")
    lines.append(f"{report.elapsed:.3f} s")
    return lines
