"""`--watch`'s model: the proxy's hops and the verdicts as rows of the app's network diagram (no Textual).

The checker stands on the ATM lane and the server under check on the Bank lane. Every row comes
from a hop the proxy reported (a request forwarded, an answer received, a reply dropped) or a
verdict the runner reported, so the diagram shows only what happened on the socket. The rows are
the app's own `Row`s in the app's own `View`, drawn by the app's `SequenceDiagram`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atm_tui.check.proxy import Hop
from atm_tui.check.rules import Verdict
from atm_tui.ui.models.outcomes import Label, reply
from atm_tui.ui.models.rows import ARRIVED, FLYING, LOST, NOTE, REPLY, REQUEST, Row
from atm_tui.ui.models.view import View

VERDICT_MARK = {"pass": "✓ PASS", "fail": "✕ FAIL", "info": "ℹ info", "skip": "· skip"}


def http_label(status: int, replayed: bool) -> Label:
    """An HTTP answer in the app's words: the one mapping for what it knows, the code for the rest."""
    if status == 0:
        return Label("✕", "no answer", "lost")
    if 200 <= status < 300:
        return reply("approved", replayed)
    known = {409: "in_progress", 422: "rejected", 402: "declined"}
    if status in known:
        return reply(known[status], replayed)
    return Label("✗", str(status), "lost" if status >= 500 else "refused")


@dataclass(slots=True)
class WatchModel:
    """The diagram's view of a check, fed with hops, rule starts and verdicts (times in ms)."""

    run_id: str = ""
    view: View = field(default_factory=lambda: View(max_attempts=1, amount=0, owner="checker"))
    verdicts: list[Verdict] = field(default_factory=list)
    rule: str = ""  # the rule under way
    requests: dict[int, Row] = field(default_factory=dict)  # exchange -> its first request row
    replies: dict[tuple[int, int], Row] = field(default_factory=dict)  # (exchange, copy) -> reply row

    def case(self, key: str | None) -> str:
        """The short name of a key: `check-7e1a3c-lost-reply` -> `lost-reply`."""
        if key is None:
            return "(no key)"
        prefix = f"check-{self.run_id}-" if self.run_id else "check-"
        if key.startswith(prefix):
            return key[len(prefix):]
        return key.split("-", 2)[-1] if key.startswith("check-") else key

    def _add(self, row: Row) -> Row:
        self.view.rows.append(row)
        self.view.rows_total += 1
        return row

    def start_rule(self, name: str, now: int) -> None:
        self.rule = name
        self.view.atm.txn_id = name
        self._add(Row(now, "atm", f"▶ {name}", state=NOTE, txn=name))

    def verdict(self, v: Verdict, now: int) -> None:
        self.verdicts.append(v)
        self._add(Row(now, "atm", f"{VERDICT_MARK[v.verdict]} {v.rule}: {v.evidence}", state=NOTE,
                      key=True, txn=self.rule))

    def hop(self, h: Hop, now: int) -> None:
        label = f"{self.case(h.key)} #{h.exchange}"
        if h.what == "request":
            self.requests[h.exchange] = self._add(Row(now, REQUEST, label, FLYING, txn=self.rule))
        elif h.what == "held":
            self._add(Row(now, "atm", f"⧖ the network holds #{h.exchange} {h.delay_ms} ms", state=NOTE,
                          txn=self.rule))
        elif h.what == "dropped-request":
            row = self.requests.get(h.exchange)
            if row is not None:
                row.state, row.key = LOST, True
        elif h.what == "forwarded":
            first = self.requests.get(h.exchange)
            if h.copy == 1 and first is not None:
                first.state = ARRIVED
            else:
                if first is not None and not first.duplicate:
                    first.duplicate, first.note = True, "copy 1"
                self._add(Row(now, REQUEST, label, ARRIVED, note="copy 2", duplicate=True, txn=self.rule))
        elif h.what == "answered":
            mark = http_label(h.status, h.replayed)
            text = f"{h.status or 'no answer'} #{h.exchange}" + (f" copy {h.copy}" if h.copy > 1 else "")
            self.replies[(h.exchange, h.copy)] = self._add(
                Row(now, REPLY, text, FLYING, note="replayed" if h.replayed else "fresh", mark=mark,
                    key=h.status >= 500 or h.status == 0, txn=self.rule))
        elif h.what in ("delivered", "dropped-response", "client-gone"):
            for (exchange, copy), row in self.replies.items():
                if exchange != h.exchange:
                    continue
                # Only copy 1's answer can reach the client; the proxy keeps the other copies' answers.
                reached = h.what == "delivered" and copy == 1
                row.state = ARRIVED if reached else LOST
                row.key = row.key or (copy == 1 and not reached)
            if h.what == "dropped-response":
                self._add(Row(now, "bank", f"the proxy drops #{h.exchange}'s reply after the server answered",
                              state=NOTE, txn=self.rule))
            elif h.what == "client-gone":
                self._add(Row(now, "bank", f"#{h.exchange} answered after the checker gave up",
                              state=NOTE, txn=self.rule))
