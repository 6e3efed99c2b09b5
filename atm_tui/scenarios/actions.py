"""The actions a scenario step may perform: their arguments, and how each one drives the Engine.

They are the same intents the app's keys send (withdraw, drop the next reply, retry now, ...),
so a scenario is a recorded lecture: what a teacher would press, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from atm_tui.bank.core import MODES
from atm_tui.bank.money import MAX_AMOUNT
from atm_tui.sim.atm.engine import Engine

MAX_MS = 10**12
MAX_COUNT = 1_000


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of an action: its TOML type, whether it is required, and its accepted values."""

    kind: type
    required: bool = False
    default: Any = None
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    step: int = 1  # an int must be a multiple of this (rupees: 100, as the ATM and the CLI take)

    def expected(self) -> str:
        if self.kind is bool:
            return "true or false"
        if self.kind is int:
            step = f", a multiple of {self.step}" if self.step > 1 else ""
            return f"a whole number from {self.lo:,} to {self.hi:,}{step}"
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        return "a non-empty string"

    def accepts(self, value: Any) -> bool:
        if self.kind is int:
            # bool is an int in Python but not in TOML: `amount = true` is a mistake.
            if not isinstance(value, int) or isinstance(value, bool):
                return False
            in_range = (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
            return in_range and value % self.step == 0
        if self.kind is bool:
            return isinstance(value, bool)
        if not isinstance(value, str) or not value.strip():
            return False
        return not self.choices or value in self.choices


Apply = Callable[[Engine, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    help: str
    apply: Apply
    params: dict[str, Param] = field(default_factory=dict)


def rupees(*, required: bool = False, default: int | None = None) -> Param:
    """An amount of money: whole rupees in multiples of 100, as the ATM, the CLI and HTTP take."""
    return Param(int, required=required, default=default, lo=100, hi=MAX_AMOUNT, step=100)


def _count() -> Param:
    return Param(int, default=1, lo=1, hi=MAX_COUNT)


def _ms(required: bool = True) -> Param:
    return Param(int, required=required, lo=0, hi=MAX_MS)


def _on() -> Param:
    return Param(bool, required=True)


def _sync(fn: Callable[[Engine, dict[str, Any]], object]) -> Apply:
    async def run(engine: Engine, args: dict[str, Any]) -> None:
        fn(engine, args)

    return run


async def _wait(engine: Engine, args: dict[str, Any]) -> None:
    await engine.wait(int(args["ms"]))


async def _idle(engine: Engine, args: dict[str, Any]) -> None:
    await engine.run_until_idle()


async def _compare(engine: Engine, args: dict[str, Any]) -> None:
    # The naive twin: a second bank on its own file next to the scenario's, fed every delivery.
    if args["on"] and engine.twin is None:
        await engine.open_twin(fresh=True)
    engine.set_compare(bool(args["on"]))


_SPECS = (
    ActionSpec("withdraw", "withdraw cash (amount defaults to the scenario's; id reuses a given id;"
               " client sends it as another ATM)",
               _sync(lambda e, a: e.withdraw(a.get("amount"), a.get("id"), a.get("client"))),
               {"amount": rupees(), "id": Param(str), "client": Param(str)}),
    ActionSpec("payment", "charge a card; keyless = true sends no idempotency key",
               _sync(lambda e, a: e.payment(a["amount"], a["key"], keyless=a["keyless"])),
               {"amount": rupees(required=True), "key": Param(str, required=True),
                "keyless": Param(bool, default=False)}),
    ActionSpec("order", "create an order; its id is the key",
               _sync(lambda e, a: e.order(a["id"], a["item"], a["quantity"])),
               {"id": Param(str, required=True), "item": Param(str, default="book"),
                "quantity": Param(int, default=1, lo=1, hi=MAX_COUNT)}),
    ActionSpec("vote", "cast a ballot; the voter id is the key",
               _sync(lambda e, a: e.vote(a["voter"], a["choice"])),
               {"voter": Param(str, required=True), "choice": Param(str, required=True)}),
    ActionSpec("balance", "a balance inquiry (a read)", _sync(lambda e, a: e.balance_inquiry())),
    ActionSpec("status", "ask the bank what became of a transaction (a read)",
               _sync(lambda e, a: e.status_query(a.get("id"))), {"id": Param(str)}),
    ActionSpec("retry_now", "resend the last (or the given) request at once, same id and body",
               _sync(lambda e, a: e.retry_now(a.get("id"))), {"id": Param(str)}),
    ActionSpec("drop_next_reply", "lose the next reply(s)",
               _sync(lambda e, a: e.drop_next_replies(a["count"])), {"count": _count()}),
    ActionSpec("drop_next_request", "lose the next request(s)",
               _sync(lambda e, a: e.drop_next_requests(a["count"])), {"count": _count()}),
    ActionSpec("duplicate_next_request", "deliver the next request(s) twice",
               _sync(lambda e, a: e.duplicate_next_requests(a["count"])), {"count": _count()}),
    ActionSpec("delay_next_request", "hold the next request back by ms",
               _sync(lambda e, a: e.delay_next("request", a["ms"])), {"ms": _ms()}),
    ActionSpec("delay_next_reply", "hold the next reply back by ms",
               _sync(lambda e, a: e.delay_next("reply", a["ms"])), {"ms": _ms()}),
    ActionSpec("drop_all_replies", "lose every reply while on",
               _sync(lambda e, a: e.set_drop_all_replies(a["on"])), {"on": _on()}),
    ActionSpec("auto_retry", "let the ATM retry by itself after a timeout",
               _sync(lambda e, a: e.set_auto_retry(a["on"])), {"on": _on()}),
    ActionSpec("idempotency", "on: the bank checks keys (idempotent mode); off: naive mode",
               _sync(lambda e, a: e.set_mode("idempotent" if a["on"] else "naive")), {"on": _on()}),
    ActionSpec("mode", "set the bank's mode",
               _sync(lambda e, a: e.set_mode(a["value"])),
               {"value": Param(str, required=True, choices=MODES)}),
    ActionSpec("set_ttl", "how long the bank keeps a key, virtual ms",
               _sync(lambda e, a: e.set_ttl(a["ms"])), {"ms": Param(int, required=True, lo=1, hi=MAX_MS)}),
    ActionSpec("processing", "how long the bank takes per delivery, virtual ms",
               _sync(lambda e, a: e.set_processing_time(a["ms"])), {"ms": _ms()}),
    ActionSpec("crash_in_gap", "split mode: the bank dies between the debit and storing the key",
               _sync(lambda e, a: e.crash_in_gap(a["count"])), {"count": _count()}),
    ActionSpec("crash_bank", "the bank process dies now; work in flight is lost",
               _sync(lambda e, a: e.crash_bank())),
    ActionSpec("compare", "show a naive twin bank beside this one, fed the very same deliveries",
               _compare, {"on": _on()}),
    ActionSpec("wait", "let ms of virtual time pass, running whatever falls due", _wait, {"ms": _ms()}),
    ActionSpec("run_until_idle", "run until nothing is scheduled", _idle),
)  # fmt: skip

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for spec in _SPECS}


async def apply(engine: Engine, name: str, args: dict[str, Any]) -> None:
    """Perform one validated action on the engine (defaults filled in here)."""
    spec = ACTIONS[name]
    full = {k: p.default for k, p in spec.params.items()}
    full.update(args)
    await spec.apply(engine, full)
