"""One run: the world, the network, the ATM and the bank wired together, plus the controls.

The UI's keys, the CLI's flags and a scenario's actions all end up as calls on Engine, and every
call is recorded as a Control event, so a trace replays exactly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from atm_tui.bank import clients
from atm_tui.bank.core import Mode, canonical
from atm_tui.bank.service import Bank, Bridge
from atm_tui.bank.store import StoreConfig, describe_error
from atm_tui.sim.atm.atm import CLAIM_BLOCK, Atm
from atm_tui.sim.atm.compare import NaiveTwin, twin_path
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.network import Message, Network
from atm_tui.sim.atm.server import BankServer
from atm_tui.sim.events import Control
from atm_tui.sim.world import World


@dataclass(frozen=True, slots=True)
class EngineState:
    """The engine's settings and armed faults as the panes show them: a copy, read once a frame."""

    drop_next_replies: int
    drop_next_requests: int
    duplicate_next: int
    drop_all_replies: bool
    auto_retry: bool
    mode: Mode
    compare: bool
    request_drop_rate: float
    reply_drop_rate: float
    duplicate_rate: float
    crash_in_gap: int
    max_attempts: int
    amount: int


class Engine:
    def __init__(self, config: SimConfig, bank: Bank, start: int = 0) -> None:
        self.config = config
        self.bank = bank
        bank.mode = config.mode
        bank.ttl = config.bank.ttl
        self.world = World(config.seed, start)
        self.network = Network(config.request, config.reply)
        self.atm = Atm(self.world, config.atm, self._send_request, bank.account_id)
        self.server = BankServer(self.world, bank, config.bank, self._send_reply)
        self.server.client = config.atm.client
        self.compare = False

    @classmethod
    async def open(
        cls,
        config: SimConfig,
        store: StoreConfig,
        *,
        bridge: Bridge = "inline",
        resume: bool = True,
        claim: int = CLAIM_BLOCK,
    ) -> Engine:
        """Open the bank's file and continue its clock and its ids where the last run stopped.

        The ATM's transaction numbers are claimed from the file, `claim` at a time (a run that
        knows its count claims exactly that many), so another program on the file never mints
        the same key. `resume=False` (a scenario on its emptied file) counts from its first id.
        """
        bank = Bank(store, mode=config.mode, ttl=config.bank.ttl, bridge=bridge)
        await bank.open()
        latest, _highest = (await bank.resume_point()) if resume else (0, 0)
        # Go on one tick after the last stored time, so this run's rows never share a time with
        # the last run's.
        engine = cls(config, bank, latest + 1 if latest else 0)
        if resume:
            try:
                engine.claim_ids(max(1, claim))
            except BaseException:
                await bank.close()
                raise
        return engine

    def claim_ids(self, count: int) -> None:
        """Take the ATM's next `count` transaction numbers from the bank's file (more on demand)."""
        path, atm = self.bank.config.path, self.atm
        if path == ":memory:":
            return  # nobody else can open this bank
        prefix, first = atm.config.prefix, atm.config.first_id

        def more(n: int) -> int:
            try:
                return clients.claim(path, prefix, n, first)
            except sqlite3.Error as exc:
                raise describe_error(path, exc) from None

        atm.next_number = more(count)
        atm.block_end = atm.next_number + count
        atm.claim = more

    def give_back_ids(self) -> None:
        """Return the numbers this ATM claimed and did not use, if no program claimed after them."""
        atm = self.atm
        if atm.block_end is None or atm.next_number >= atm.block_end:
            return
        try:
            clients.give_back(self.bank.config.path, atm.config.prefix, atm.next_number, atm.block_end)
        except sqlite3.Error:
            pass  # a gap in the numbering, nothing worse
        atm.block_end = atm.next_number

    async def close(self) -> None:
        self.give_back_ids()
        if self.server.twin is not None:
            await self.server.twin.close()
            self.server.twin = None
        await self.bank.close()

    # -- compare mode ------------------------------------------------------------------------
    async def open_twin(self, path: str | None = None, *, fresh: bool = False) -> NaiveTwin:
        """Open the naive twin (next to the bank's file unless `path`) and feed it every delivery."""
        cfg = self.bank.config
        store = StoreConfig(path or twin_path(cfg.path), cfg.opening_balance, cfg.account_id, cfg.owner,
                            fresh, cfg.synchronous)
        twin = await NaiveTwin(store, bridge=self.bank.bridge).open()
        self.attach_twin(twin)
        return twin

    def attach_twin(self, twin: NaiveTwin | None) -> None:
        self.server.twin = twin

    @property
    def twin(self) -> NaiveTwin | None:
        return self.server.twin

    def set_compare(self, on: bool) -> None:
        """Show the naive twin beside the bank (it is fed whenever attached; this records the view)."""
        self._control("compare", on)
        self.compare = on

    @property
    def now(self) -> int:
        return self.world.now

    def state(self) -> EngineState:
        """What the toggles and captions read, without reaching into the network or the server."""
        net, cfg = self.network, self.config
        return EngineState(
            net.reply.drop_next, net.request.drop_next, net.request.duplicate_next, net.reply.drop_all,
            cfg.atm.auto_retry, self.bank.mode, self.compare,
            net.request.config.drop, net.reply.config.drop, net.request.config.duplicate,
            self.server.crash_in_gap, cfg.atm.max_attempts, cfg.amount,
        )  # fmt: skip

    def _send_request(self, msg: Message) -> None:
        self.network.request.send(self.world, msg, self._arrive_at_bank)

    def _arrive_at_bank(self, msg: Message, copy: int) -> None:
        # The bank's work awaits SQLite, so it runs as its own scheduled step.
        self.world.at_async(self.world.now, self.server.on_request, msg, copy)

    def _send_reply(self, msg: Message) -> None:
        self.network.reply.send(self.world, msg, self.atm.on_reply)

    def _control(self, name: str, value: object) -> None:
        self.world.emit(Control(self.world.now, "", 0, name, str(value)))

    # -- the customer ------------------------------------------------------------------------
    def withdraw(
        self, amount: int | None = None, txn_id: str | None = None, client: str | None = None
    ) -> str:
        """Withdraw; `txn_id` reuses a given id, `client` sends it as another ATM (another client id)."""
        amount = self.config.amount if amount is None else amount
        value = amount if txn_id is None else f"{amount} {txn_id}"
        self._control("withdraw", value if not client else f"{value} as {client}")
        return self.atm.withdraw(amount, txn_id, client or "")

    def submit(self, op: str, label: str, fields: dict[str, Any], *, keyless: bool = False) -> str:
        """Send a payment, order or vote named `label`; unless keyless, `label` is its key.

        The body goes on the wire as JSON, the key in it as `idempotency_key` (the HTTP header's
        stand-in); retries resend the same body.
        """
        body = dict(fields)
        if not keyless:
            body["idempotency_key"] = label
        self._control(op, f"{label} {canonical(fields)}" + (" keyless" if keyless else ""))
        return self.atm.submit(op, label, int(fields.get("amount", 0)), canonical(body))

    def payment(self, amount: int, key: str, *, keyless: bool = False) -> str:
        """Charge `amount` (POST /payments); with `keyless` no Idempotency-Key is sent."""
        return self.submit("payment", key, {"amount": amount}, keyless=keyless)

    def order(self, order_id: str, item: str = "book", quantity: int = 1) -> str:
        """Create order `order_id`; the order id is the key."""
        return self.submit("order", order_id, {"item": item, "quantity": quantity})

    def vote(self, voter: str, choice: str) -> str:
        """Cast `choice` for voter `voter`; the key is `voter-<id>`, so one voter counts once."""
        return self.submit("vote", f"voter-{voter}", {"choice": choice, "voter": voter})

    def balance_inquiry(self) -> str:
        self._control("balance", "")
        return self.atm.query_balance()

    def status_query(self, txn_id: str | None = None) -> str | None:
        self._control("status", txn_id or "")
        return self.atm.query_status(txn_id)

    def retry_now(self, txn_id: str | None = None) -> bool:
        self._control("retry_now", txn_id or "")
        return self.atm.retry_now(txn_id)

    @property
    def unknown(self) -> list[str]:
        """Ids whose outcome the ATM does not know, oldest first: `status_query(id)` or
        `retry_now(id)` settles any of them, not only the last."""
        return self.atm.unknown

    # -- the teacher's hiccups ---------------------------------------------------------------
    def drop_next_replies(self, n: int = 1) -> None:
        self._control("drop_next_replies", n)
        self.network.reply.drop_next += n

    def drop_next_requests(self, n: int = 1) -> None:
        self._control("drop_next_requests", n)
        self.network.request.drop_next += n

    def duplicate_next_requests(self, n: int = 1) -> None:
        self._control("duplicate_next_requests", n)
        self.network.request.duplicate_next += n

    def delay_next(self, direction: str, ms: int) -> None:
        self._control(f"delay_next_{direction}", ms)
        self.network.link(direction).delay_next += ms

    def set_drop_all_replies(self, on: bool) -> None:
        self._control("drop_all_replies", on)
        self.network.reply.drop_all = on

    def set_auto_retry(self, on: bool) -> None:
        self._control("auto_retry", on)
        self.config.atm.auto_retry = on

    def set_mode(self, mode: Mode) -> None:
        self._control("mode", mode)
        self.config.mode = mode
        self.bank.mode = mode

    def set_rate(self, direction: str, what: str, p: float) -> None:
        """Set a link's drop or duplicate probability (0..1)."""
        self._control(f"{direction}_{what}", p)
        link = self.network.link(direction)
        if what == "drop":
            link.config.drop = p
        elif what == "duplicate":
            link.config.duplicate = p
        else:
            raise ValueError(f"{what!r}: use drop or duplicate")

    def set_processing_time(self, ms: int) -> None:
        self._control("processing", ms)
        self.config.bank.processing = ms

    def set_ttl(self, ms: int) -> None:
        self._control("ttl", ms)
        self.config.bank.ttl = ms
        self.bank.ttl = ms

    def crash_in_gap(self, n: int = 1, hard: bool = False) -> None:
        """Make the bank die between split mode's two transactions, the next n times."""
        self._control("crash_in_gap", n)
        self.server.gap_crashes.arm(n)
        self.server.hard_crash = hard

    def crash_bank(self) -> None:
        self._control("crash_bank", "")
        self.server.crash("on request")

    # -- running -----------------------------------------------------------------------------
    async def run_until_idle(self) -> int:
        return await self.world.run_until_idle()

    async def advance_to(self, t: int) -> None:
        await self.world.advance_to(t)

    async def wait(self, ms: int) -> None:
        """Let `ms` of virtual time pass, running whatever falls due."""
        await self.world.advance_to(self.world.now + ms)
