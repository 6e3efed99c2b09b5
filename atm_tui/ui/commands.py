"""The command palette: every key of the contract, the bank modes and themes, and the scenarios, by name."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from atm_tui.scenarios.loader import builtin_names, load
from atm_tui.scenarios.scenario import ScenarioError
from atm_tui.ui.core.session import Session
from atm_tui.ui.screens.atm import AtmScreen
from atm_tui.ui.screens.bindings import Key
from atm_tui.ui.screens.pipeline import PipelineScreen

_PIPELINE_PREFIX = "Pipeline: "


def _key_commands() -> list[tuple[str, str, str]]:
    """Every key of the live screens, once, as the screens declare it: title, action, what it does."""
    out, seen = [], set()
    for b in [*AtmScreen.BINDINGS, *PipelineScreen.BINDINGS]:
        if not isinstance(b, Key) or b.action in seen:
            continue
        seen.add(b.action)
        tip, where = b.tooltip, ""
        if tip.startswith(_PIPELINE_PREFIX):
            tip, where = tip.removeprefix(_PIPELINE_PREFIX), ", in the pipeline view"
        out.append((b.title, b.action, f"key {b.key_display or b.key}{where}: {tip}"))
    return out


class AtmCommands(Provider):
    """Commands named after what they do, each describing its key, so the palette teaches the keys."""

    def _commands(self) -> list[tuple[str, str, str]]:
        out = _key_commands()
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
        # On the screen the palette was opened over: its check_action refuses what it refuses.
        await self.app.run_action(action, self.screen)

    async def discover(self) -> Hits:
        for text, action, help_text in self._commands():
            yield DiscoveryHit(text, partial(self._run, action), help=escape(help_text))

    async def search(self, query: str) -> Hits:
        # The description counts too: "loses the next reply" finds the hiccup by what it does.
        matcher = self.matcher(query)
        for text, action, help_text in self._commands():
            score = max(matcher.match(text), matcher.match(help_text))
            if score > 0:
                run = partial(self._run, action)
                yield Hit(score, matcher.highlight(text), run, text=text, help=escape(help_text))


LEAVE = "Scenario: leave it, back to your bank"


class ScenarioCommands(Provider):
    """The palette: play any built-in scenario, or a .toml file typed as a path."""

    SCENARIOS: ClassVar[list[tuple[str, str]]] = []

    def _list(self) -> list[tuple[str, str]]:
        if not ScenarioCommands.SCENARIOS:
            out = []
            for name in builtin_names():
                try:
                    out.append((name, load(name).title))
                except ScenarioError as exc:
                    out.append((name, str(exc)))
            ScenarioCommands.SCENARIOS = out
        return ScenarioCommands.SCENARIOS

    def _session(self) -> Session | None:
        return getattr(self.screen, "session", None)

    async def _play(self, name: str) -> None:
        session = self._session()
        if session is not None:
            self.app.run_worker(session.scenarios.play(name), name="play scenario", group="presenter",
                                exit_on_error=False)

    async def _leave(self) -> None:
        session = self._session()
        if session is not None:
            self.app.run_worker(session.scenarios.leave(), name="leave scenario", group="presenter",
                                exit_on_error=False)

    def _leave_hit(self) -> bool:
        session = self._session()
        return session is not None and session.presenter is not None and session.presenter.owned

    async def discover(self) -> Hits:
        if self._leave_hit():
            yield DiscoveryHit(LEAVE, self._leave, help="Close the scenario and open your own bank again")
        for name, title in self._list():
            yield DiscoveryHit(f"Scenario: {name}", partial(self._play, name), help=title)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        typed = query.strip()
        if self._leave_hit() and matcher.match(LEAVE) > 0:
            yield Hit(matcher.match(LEAVE), matcher.highlight(LEAVE), self._leave, text=LEAVE)
        if typed.endswith(".toml"):
            yield Hit(1.0, f"Scenario file: {typed}", partial(self._play, typed), text=typed,
                      help="Play your own scenario file")
        for name, title in self._list():
            text = f"Scenario: {name} {title}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._play, name), text=text, help=title)
