"""The command palette: every key of the contract, plus the bank modes and themes, by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from atm_tui.ui.bindings import KEYS

if TYPE_CHECKING:
    from atm_tui.ui.app import AtmApp


class AtmCommands(Provider):
    """Commands named after what they do, each showing its key, so the palette teaches the keys."""

    def _commands(self) -> list[tuple[str, str, str]]:
        out = [(f"{b.tooltip} [{b.key_display or b.key}]", b.action, b.tooltip or "") for b in KEYS]
        out += [
            ("Bank mode: idempotent", "mode('idempotent')", "Look up the key first; replay stored answers"),
            ("Bank mode: naive", "mode('naive')", "No check: every delivery debits"),
            ("Bank mode: split (key stored in a second transaction)", "mode('split')",
             "Shows why the debit and the key must be one transaction"),
            ("Pipeline consumer: naive (charge, then commit: the disaster)", "consumer('naive')",
             "A crash before the commit charges the re-delivery again"),
            ("Pipeline consumer: idempotent (message id as key)", "consumer('idempotent')",
             "A re-delivery finds the key and is skipped"),
            ("Pipeline consumer: transactional (charge and offset, one transaction)",
             "consumer('transactional')",
             "A crash rolls back the charge and the offset together"),
        ]
        return out

    async def _run(self, action: str) -> None:
        app: AtmApp = self.app  # type: ignore[assignment]
        await app.run_action(action)

    async def discover(self) -> Hits:
        for text, action, help_text in self._commands():
            yield DiscoveryHit(text, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                run = partial(self._run, action)
                yield Hit(score, matcher.highlight(text), run, text=text, help=help_text)
