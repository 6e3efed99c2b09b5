"""`atm-tui check URL --watch`: the check drawn live in the app's network diagram, for a projector.

The run is the headless one (`run_check`); this App only listens to it: the proxy's hops and the
runner's verdicts go into a `WatchModel`, and the app's `SequenceDiagram` draws its rows. `q`
quits with the check's exit code (0 every required rule holds, 1 one is broken, 2 it could not run).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from atm_tui.check.probe import CheckError, Options
from atm_tui.check.proxy import Hop
from atm_tui.check.report import MARK
from atm_tui.check.rules import Verdict
from atm_tui.check.runner import Outcome, run_check
from atm_tui.check.target import Target
from atm_tui.check.watch_model import WatchModel
from atm_tui.ui.widgets.diagram import SequenceDiagram

EXIT_USAGE = 2


class CheckWatch(App[int]):
    """One check, drawn as it runs; stays on screen with its verdicts until `q`."""

    TITLE = "atm-tui check"
    CSS = """
    #head { height: auto; max-height: 4; padding: 0 1; background: $boost; }
    #diagram { height: 2fr; border: round $primary; border-title-align: left; }
    #verdicts { height: 1fr; max-height: 14; border: round $secondary; border-title-align: left; }
    """
    BINDINGS = [Binding("q", "quit_check", "Quit", id="quit")]

    def __init__(self, target: Target, options: Options) -> None:
        super().__init__()
        self.target = target
        self.options = options
        self.model = WatchModel(run_id=options.run_id or "")
        self.outcome: Outcome | None = None
        self.problem = ""
        self.code = EXIT_USAGE
        self._start = time.monotonic()

    def compose(self) -> ComposeResult:
        yield Static(self._head(), id="head")
        diagram = SequenceDiagram(self.model.view, id="diagram")
        diagram.border_title = "checker (ATM lane) ⇄ proxy faults ⇄ server under check (Bank lane)"
        yield diagram
        with VerticalScroll(id="verdicts") as box:
            box.border_title = "rules"
            yield Static(id="table")
        yield Footer()

    def on_mount(self) -> None:
        if not self.options.run_id:
            import secrets

            self.options.run_id = self.model.run_id = secrets.token_hex(3)
        self.options.listeners.append(self._hop)
        self.run_worker(self._check(), exclusive=True, name="check")

    def _now(self) -> int:
        return int((time.monotonic() - self._start) * 1000)

    def _head(self) -> Text:
        t = self.target
        line = Text(f"{t.method} {t.url}  (key header {t.key_header}, run {self.model.run_id or '…'})\n")
        if self.problem:
            line.append(f"cannot run: {self.problem}", style="bold red")
        elif self.outcome is not None:
            line.append(self.outcome.summary(), style="bold green" if self.outcome.ok else "bold red")
            line.append(f" ({self.outcome.seconds:.1f} s); q quits")
        else:
            line.append(f"checking: {self.model.rule or 'connecting'} …")
        return line

    def _redraw(self) -> None:
        self.query_one("#head", Static).update(self._head())
        self.query_one("#diagram", SequenceDiagram).refresh()
        table = Text()
        for v in self.model.verdicts:
            style = {"pass": "green", "fail": "bold red"}.get(v.verdict, "dim")
            table.append(f"{MARK[v.verdict]:<5} ", style=style)
            table.append(f"{v.rule:<25} ", style="bold")
            table.append(v.evidence + "\n")
        self.query_one("#table", Static).update(table)

    def _hop(self, hop: Hop) -> None:
        self.model.hop(hop, self._now())
        self._redraw()

    def _progress(self, name: str, verdict: Verdict | None) -> None:
        if verdict is None:
            self.model.start_rule(name, self._now())
        else:
            self.model.verdict(verdict, self._now())
        self._redraw()

    async def _check(self) -> None:
        try:
            self.outcome = await run_check(self.target, self.options, progress=self._progress)
        except CheckError as exc:
            self.problem = str(exc)
            self.code = EXIT_USAGE
        else:
            self.code = 0 if self.outcome.ok else 1
        self._redraw()

    def action_quit_check(self) -> None:
        self.exit(self.code, return_code=self.code)


def run_watch(target: Target, options: Options) -> tuple[int, Outcome | None, str]:
    """Run the app; returns (exit code, the finished check or None, the problem if it could not run)."""
    app = CheckWatch(target, options)
    code = app.run()
    return (code if code is not None else app.code), app.outcome, app.problem
