"""The storm's counts: which withdrawals are the storm's, how many finished, and its summary.

Textual-free. A storm's own events keep the storm's caption instead of a hundred of theirs; the
last one to finish puts up the summary, counted from the tally since the storm began.
"""

from __future__ import annotations

from atm_tui.bank.money import rupees


class Storm:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.ids: set[str] = set()  # the storm's withdrawals not finished yet
        self.start: dict[str, int] = {}  # the counts when the storm began
        # Every storm id ever: their events keep the storm's own caption instead of 100 of theirs.
        self.every: set[str] = set()
        self.caption = ""
        self.opening = False  # between begin and sent: each withdrawal is the storm's

    @property
    def running(self) -> bool:
        return self.done < self.total

    def begin(self, n: int, amount: int, counts: dict[str, int]) -> str:
        """A storm of `n` withdrawals starts; returns its caption."""
        self.total += n
        self.start = dict(counts)
        self.caption = (
            f"Storm: {n} withdrawals of {rupees(amount)} at once, with 30 % faults on the network:"
            " watch the retries and the replays."
        )
        self.opening = True
        return self.caption

    def add(self, txn_id: str) -> None:
        self.ids.add(txn_id)
        self.every.add(txn_id)

    def finish(self, txn_id: str, counts: dict[str, int]) -> None:
        """One of the storm's withdrawals finished; after the last, the summary from the counts."""
        self.ids.discard(txn_id)
        self.done += 1
        if self.running:
            return
        names = ("attempts", "deliveries", "replayed", "unknown")
        since = {k: counts[k] - self.start.get(k, 0) for k in names}
        # Resends are the attempts after each first one that went on the wire; a retry that
        # was scheduled and then cancelled by a late reply never reached the file.
        resends = since["attempts"] - self.total
        self.caption = (
            f"Storm over: {self.total} withdrawals, {since['deliveries']} deliveries,"
            f" {resends} resends, {since['replayed']} replays (no second debit),"
            f" {since['unknown']} unknown."
        )
