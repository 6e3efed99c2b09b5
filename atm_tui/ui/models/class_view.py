"""The class view's model: one lane per client from the bank's rows, busiest first, and the totals.

Textual-free. Built from `bank.queries.client_lanes`, so every count is a count of rows in the
file (requests served by other processes included); the outcome words and glyphs are the ones
every pane uses (`ui/outcomes.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from atm_tui.bank.money import rupees
from atm_tui.bank.queries import ClientLane
from atm_tui.ui.models import outcomes

ANONYMOUS = "(no Client-Id)"

# (header, what the column counts); the headers reuse the outcome labels every pane shows.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("client", "the Client-Id its requests carried"),
    ("keys", "distinct keys (withdrawals) that reached the bank"),
    ("deliveries", "requests that reached the bank: every attempt that was not lost on the way"),
    (str(outcomes.PROCESSED), "new keys debited (201)"),
    (str(outcomes.DECLINED), "new keys declined (402)"),
    (str(outcomes.REPLAYED), "retries answered from the stored reply"),
    (f"{outcomes.IN_PROGRESS.glyph} 409", "retries that came while the first was still in progress"),
    (f"{outcomes.REJECTED.glyph} 422", "a key sent with another body, or by another client"),
    ("debits", "ledger rows"),
    ("twice", "keys debited more than once (must be none)"),
)


@dataclass(frozen=True, slots=True)
class LaneRow:
    client: str
    cells: tuple[str, ...]
    doubled: bool


@dataclass(frozen=True, slots=True)
class ClassModel:
    lanes: tuple[ClientLane, ...]

    @classmethod
    def of(cls, lanes: list[ClientLane]) -> ClassModel:
        """Busiest first (most deliveries), then by name, so the class's storm is at the top."""
        return cls(tuple(sorted(lanes, key=lambda lane: (-lane.deliveries, lane.client))))

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(h for h, _ in COLUMNS)

    def rows(self) -> list[LaneRow]:
        return [LaneRow(lane.client, _cells(lane), bool(lane.doubled)) for lane in self.lanes]

    def totals(self) -> ClientLane:
        ls = self.lanes
        return ClientLane(
            "total", sum(x.keys for x in ls), sum(x.deliveries for x in ls), sum(x.processed for x in ls),
            sum(x.declined for x in ls), sum(x.replayed for x in ls), sum(x.in_progress for x in ls),
            sum(x.rejected for x in ls), sum(x.debits for x in ls), sum(x.debited_rupees for x in ls),
            sum(x.held for x in ls), tuple(d for x in ls for d in x.doubled),
            max((x.last_at for x in ls), default=0),
        )

    def total_line(self) -> str:
        """The totals in two lines that fit 120 columns: `total of 33 clients: 161 keys · ...`."""
        t = self.totals()
        return (f"total of {len(self.lanes)} clients: {t.keys} keys · {t.deliveries} deliveries ·"
                f" {t.processed} processed · {t.declined} declined · {t.replayed} replayed\n"
                f"{t.in_progress} answered 409 · {t.rejected} answered 422 · {t.debits} debits"
                f" ({rupees(t.debited_rupees)}) · {len(t.doubled)} key(s) debited twice")

    def verdict(self) -> str:
        """The exactly-once line under the lanes: no key debited twice, or every key that was."""
        t = self.totals()
        if t.doubled:
            shown = ", ".join(f"{key} x{n}" for key, n in t.doubled[:6])
            return f"⚠ DEBITED TWICE: {shown}" + (" ..." if len(t.doubled) > 6 else "")
        held = f"; {t.held} key(s) still in progress" if t.held else ""
        return f"exactly once: no key debited twice{held}"

    def caption(self) -> str:
        return ("One lane per client, read from the bank's tables (every server's requests)."
                " Attempts lost before the bank never arrive: only the client counts them.")


def _cells(lane: ClientLane, name: str | None = None) -> tuple[str, ...]:
    twice = ", ".join(f"{k} x{n}" for k, n in lane.doubled) if lane.doubled else "0"
    return (name or lane.client or ANONYMOUS, str(lane.keys), str(lane.deliveries), str(lane.processed),
            str(lane.declined), str(lane.replayed), str(lane.in_progress), str(lane.rejected),
            str(lane.debits), twice)
