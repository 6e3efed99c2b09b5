"""Loading and validating scenario files; a bad file is one line naming the file, the line and the fix.

A scenario is a TOML file (format: docs/scenarios.md). The built-in ones ship inside this package
and are found with importlib.resources; a path ending in .toml loads a teacher's own file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from atm_tui.bank.core import MODES
from atm_tui.bank.money import MAX_BALANCE
from atm_tui.bank.pipeline_store import CONSUMER_MODES
from atm_tui.paths import quoted
from atm_tui.scenarios.actions import ACTIONS, MAX_MS, Param, rupees
from atm_tui.scenarios.pipeline_actions import PIPELINE_ACTIONS
from atm_tui.scenarios.scenario import Action, Scenario, ScenarioError, Step
from atm_tui.scenarios.timing import MAX_HOLD, MIN_HOLD, MIN_SET_HOLD, READING_CPS
from atm_tui.sim.atm.config import RETRY_POLICIES
from atm_tui.sim.pipeline.pipeline import REMEMBERED_BATCHES

PACKAGE = "atm_tui.scenarios"
MAX_SEED = 2**63 - 1
MAX_FILE_BYTES = 1_048_576  # a scenario is a few kilobytes; 1 MiB is far past any real one


# The starting state: key -> (parameter, field it sets). Defaults are the engine's.
START: dict[str, Param] = {
    "opening_balance": Param(int, default=50_000, lo=0, hi=MAX_BALANCE),
    "mode": Param(str, default="idempotent", choices=MODES),
    "amount": rupees(default=5_000),
    "ttl_ms": Param(int, default=86_400_000, lo=1, hi=MAX_MS),
    "processing_ms": Param(int, default=300, lo=0, hi=MAX_MS),
    "restart_ms": Param(int, default=2_000, lo=0, hi=MAX_MS),
    "timeout_ms": Param(int, default=3_000, lo=1, hi=MAX_MS),
    "retry": Param(str, default="fixed", choices=RETRY_POLICIES),
    "max_attempts": Param(int, default=3, lo=1, hi=100),
    "retry_delay_ms": Param(int, default=1_000, lo=0, hi=MAX_MS),
    "backoff_base_ms": Param(int, default=1_000, lo=0, hi=MAX_MS),
    "backoff_cap_ms": Param(int, default=8_000, lo=0, hi=MAX_MS),
    "auto_retry": Param(bool, default=True),
    "first_id": Param(int, default=123, lo=0, hi=10**12),
    # How the diagram names the messages: the engine's words, or the HTTP bank's (`serve`).
    "wire": Param(str, default="engine", choices=("engine", "http")),
}
FAULTS: dict[str, Param] = {
    "latency_ms": Param(int, default=500, lo=0, hi=MAX_MS),
    "jitter_ms": Param(int, default=0, lo=0, hi=MAX_MS),
    # Percentages, not floats: a scenario is exact, and 0.1 is not.
    "request_drop_pct": Param(int, default=0, lo=0, hi=100),
    "reply_drop_pct": Param(int, default=0, lo=0, hi=100),
    "duplicate_pct": Param(int, default=0, lo=0, hi=100),
}
# kind = "pipeline": the scenario drives the log pipeline (sim/pipeline/pipeline.py) instead of the ATM
# engine; [start] and [faults] then take the pipeline's settings, and steps its actions.
KINDS = ("atm", "pipeline")
PIPELINE_START: dict[str, Param] = {
    "opening_balance": Param(int, default=50_000, lo=0, hi=MAX_BALANCE),
    "amount": rupees(default=500),
    "partitions": Param(int, default=1, lo=1, hi=16),
    "producer_idempotent": Param(bool, default=True),
    "consumer": Param(str, default="idempotent", choices=CONSUMER_MODES),
    "produce_every_ms": Param(int, default=200, lo=0, hi=MAX_MS),
    "latency_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "request_timeout_ms": Param(int, default=1_000, lo=1, hi=MAX_MS),
    "retry_backoff_ms": Param(int, default=100, lo=0, hi=MAX_MS),
    "max_attempts": Param(int, default=10, lo=1, hi=100),
    # Kafka's idempotent producer allows at most 5 batches in flight (the broker remembers 5).
    "max_in_flight": Param(int, default=REMEMBERED_BATCHES, lo=1, hi=REMEMBERED_BATCHES),
    "fetch_latency_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "processing_ms": Param(int, default=100, lo=0, hi=MAX_MS),
    "commit_delay_ms": Param(int, default=50, lo=0, hi=MAX_MS),
    "restart_ms": Param(int, default=2_000, lo=0, hi=MAX_MS),
    "session_timeout_ms": Param(int, default=3_000, lo=1, hi=MAX_MS),
    "stall_ms": Param(int, default=6_000, lo=0, hi=MAX_MS),
    "ttl_ms": Param(int, default=86_400_000, lo=1, hi=MAX_MS),
    "first_id": Param(int, default=1, lo=1, hi=10**12),
}
PIPELINE_FAULTS: dict[str, Param] = {
    # Below 100: at 100 the consumer would fail on every message forever.
    "lost_ack_pct": Param(int, default=0, lo=0, hi=100),
    "crash_before_commit_pct": Param(int, default=0, lo=0, hi=99),
    "zombie_pct": Param(int, default=0, lo=0, hi=99),
}
TOP: dict[str, Param] = {
    "title": Param(str, required=True),
    "summary": Param(str, required=True),
    "seed": Param(int, default=0, lo=0, hi=MAX_SEED),
    "kind": Param(str, default="atm", choices=KINDS),
}
TABLES = ("start", "faults", "steps")
HOLD_EXPECTED = (
    f"seconds on screen, a number from {MIN_SET_HOLD:g} to {MAX_HOLD:g} (or leave it out: the"
    f" caption's reading time, {READING_CPS} characters a second, at least {MIN_HOLD:g} s)"
)
EXAMPLE = '{ do = "withdraw", amount = 5000 } or a plain "withdraw"'


# -- finding lines in the raw text: tomllib gives values, not positions --------------------------

_HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.starts = [m.start() for m in re.finditer(r"^", text, re.M)]
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is array of tables)
        for no, line in enumerate(self.lines, start=1):
            m = _HEADER.match(line)
            if m:
                self.headers.append((no, m.group(2).strip(), bool(m.group(1))))

    def section(self, name: str | None, index: int = 0) -> tuple[int, int]:
        """Lines [first, last) of the top level (name None), a [table] or the index-th [[table]]."""
        end = len(self.lines) + 1
        if name is None:
            return 1, self.headers[0][0] if self.headers else end
        seen = 0
        for i, (no, hname, _) in enumerate(self.headers):
            if hname == name:
                if seen == index:
                    nxt = self.headers[i + 1][0] if i + 1 < len(self.headers) else end
                    return no, nxt
                seen += 1
        return 0, 0

    def find(self, pattern: str, span: tuple[int, int]) -> int:
        """First line in span matching the regex, or 0."""
        rx = re.compile(pattern)
        for no in range(max(span[0], 1), span[1]):
            if rx.search(self.lines[no - 1]):
                return no
        return 0

    def offset(self, line: int) -> int:
        return self.starts[line - 1] if 0 < line <= len(self.starts) else len(self.text)

    def search(self, pattern: str, pos: int, span: tuple[int, int]) -> tuple[int, int]:
        """(line, end offset) of the first match at or after offset pos within span, or (0, pos)."""
        m = re.compile(pattern).search(self.text, max(pos, self.offset(span[0])), self.offset(span[1]))
        if m is None:
            return 0, pos
        return self.text.count("\n", 0, m.start()) + 1, m.end()

    def key(self, key: str, span: tuple[int, int]) -> int:
        return self.find(rf"^\s*{re.escape(key)}\s*=", span)


class _Spec(Protocol):
    @property
    def params(self) -> dict[str, Param]: ...


class _Checker:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.at = _Lines(text)
        self.actions: Mapping[str, _Spec] = ACTIONS
        self.kind = "atm"

    def fail(self, line: int, message: str) -> ScenarioError:
        where = f", line {line}" if line else ""
        return ScenarioError(f"scenario {self.source}{where}: {message}")

    def fields(
        self, table: dict[str, Any], spec: dict[str, Param], what: str, span: tuple[int, int]
    ) -> dict[str, Any]:
        """Check a table against its parameters; fill in defaults."""
        out: dict[str, Any] = {}
        for key, value in table.items():
            if key not in spec:
                line = self.at.key(key, span) or span[0]
                accepted = ", ".join(spec) or "no settings"
                raise self.fail(line, f"unknown setting {key!r} in {what}; expected {accepted}")
            param = spec[key]
            if not param.accepts(value):
                line = self.at.key(key, span) or span[0]
                raise self.fail(line, f"{what}: {key} = {_show(value)}; expected {param.expected()}")
            out[key] = value
        for key, param in spec.items():
            if key not in out:
                if param.required:
                    raise self.fail(span[0], f"{what} has no {key}; expected {key} = {param.expected()}")
                out[key] = param.default
        return out

    def action(self, raw: Any, step_no: int, span: tuple[int, int], cursor: int) -> tuple[Action, int]:
        """Validate one action; `cursor` is the text offset just past the previous action."""
        where = f"step {step_no}"
        after = self.at.text.count("\n", 0, cursor) + 1
        name: Any
        if isinstance(raw, str):
            name, args = raw, {}
            line, cursor = self.at.search(rf"[\"']{re.escape(raw)}[\"']", cursor, span)
        elif isinstance(raw, dict):
            name = raw.get("do")
            args = {k: v for k, v in raw.items() if k != "do"}
            line, cursor = self.at.search(
                rf"\{{[^}}]*\bdo\s*=\s*[\"']{re.escape(str(name))}[\"']", cursor, span
            )
            if not isinstance(name, str):
                message = f'{where}: an action table has no do = "..."; expected {EXAMPLE}'
                raise self.fail(line or after, message)
        else:
            raise self.fail(
                after,
                f'{where}: action {_show(raw)}; expected a name such as "withdraw"'
                ' or a table such as { do = "withdraw", amount = 5000 }',
            )
        line = line or after
        spec = self.actions.get(name)
        if spec is None:
            of = " in a pipeline scenario" if self.kind == "pipeline" else ""
            expected = ", ".join(self.actions)
            raise self.fail(line, f"{where}: unknown action {name!r}{of}; expected one of {expected}")
        local = (line, span[1])
        for key, value in args.items():
            param = spec.params.get(key)
            if param is None:
                accepted = ", ".join(spec.params) or "no arguments"
                at = self.at.find(rf"\b{re.escape(key)}\s*=", local) or line
                raise self.fail(at, f"{where}: action {name!r} has no argument {key!r}; expected {accepted}")
            if not param.accepts(value):
                at = self.at.find(rf"\b{re.escape(key)}\s*=", local) or line
                raise self.fail(at, f"{where}: {name} {key} = {_show(value)}; expected {param.expected()}")
        for key, param in spec.params.items():
            if param.required and key not in args:
                raise self.fail(line, f"{where}: action {name!r} needs {key} ({param.expected()})")
        return Action(name, dict(args), line), cursor

    def step(self, raw: Any, index: int) -> Step:
        no = index + 1
        span = self.at.section("steps", index)
        if not span[0]:
            # Steps written inline (steps = [{ ... }]): point at the `steps` key at least.
            whole = (1, len(self.at.lines) + 1)
            span = (self.at.key("steps", whole), whole[1])
        if not isinstance(raw, dict):
            raise self.fail(
                self.at.key("steps", (1, len(self.at.lines) + 1)),
                "steps must be [[steps]] tables, each with a caption and actions",
            )
        for key in raw:
            if key not in ("caption", "actions", "wait_ms", "hold"):
                line = self.at.key(key, span) or span[0]
                raise self.fail(
                    line, f"step {no}: unknown setting {key!r}; expected caption, actions, wait_ms, hold"
                )
        caption = raw.get("caption")
        if caption is None:
            raise self.fail(span[0], f'step {no} has no caption; expected caption = "what this beat shows"')
        if not isinstance(caption, str) or not caption.strip():
            raise self.fail(
                self.at.key("caption", span) or span[0], f"step {no}: caption must be a non-empty string"
            )
        wait = raw.get("wait_ms")
        if wait is not None and not (
            isinstance(wait, int) and not isinstance(wait, bool) and 0 <= wait <= MAX_MS
        ):
            expected = f"a whole number from 0 to {MAX_MS:,} (or leave it out to run until idle)"
            line = self.at.key("wait_ms", span) or span[0]
            raise self.fail(line, f"step {no}: wait_ms = {_show(wait)}; expected {expected}")
        hold = raw.get("hold")
        if hold is not None and not (
            isinstance(hold, int | float) and not isinstance(hold, bool) and MIN_SET_HOLD <= hold <= MAX_HOLD
        ):
            line = self.at.key("hold", span) or span[0]
            raise self.fail(line, f"step {no}: hold = {_show(hold)}; expected {HOLD_EXPECTED}")
        raw_actions = raw.get("actions", [])
        actions_line = self.at.key("actions", span) or span[0]
        if not isinstance(raw_actions, list):
            raise self.fail(actions_line, f'step {no}: actions must be a list, such as ["withdraw"]')
        actions: list[Action] = []
        cursor = self.at.offset(actions_line)
        for item in raw_actions:
            act, cursor = self.action(item, no, span, cursor)
            actions.append(act)
        return Step(caption.strip(), tuple(actions), wait, span[0], None if hold is None else float(hold))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def parse(text: str, name: str, source: str) -> Scenario:
    """Validate a scenario's text; raise ScenarioError naming `source` and the line at fault."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(
            f"scenario {source}: arrays or tables nested too deep to read; a scenario needs at most"
            " a list of action tables inside [[steps]]"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        detail = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        where = f", line {m.group(1)}, column {m.group(2)}" if m else ""
        raise ScenarioError(f"scenario {source}{where}: not valid TOML ({detail})") from None
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        raise ScenarioError(
            f"scenario {source}: a number too long to read; numbers in a scenario have at most 19 digits"
        ) from None
    check = _Checker(source, text)
    top_span = check.at.section(None)
    for key in data:
        if key in TABLES:
            continue
        if key not in TOP:
            line = check.at.key(key, top_span) or check.at.find(rf"^\s*\[+\s*{re.escape(key)}\b", (1, 10**9))
            raise check.fail(line, f"unknown setting {key!r}; expected {', '.join((*TOP, *TABLES))}")
    top = check.fields({k: v for k, v in data.items() if k in TOP}, TOP, "the scenario", top_span)
    kind = top["kind"]
    start_spec, faults_spec = (PIPELINE_START, PIPELINE_FAULTS) if kind == "pipeline" else (START, FAULTS)
    check.kind = kind
    check.actions = PIPELINE_ACTIONS if kind == "pipeline" else ACTIONS
    tables: dict[str, dict[str, Any]] = {}
    for name_, spec in (("start", start_spec), ("faults", faults_spec)):
        raw = data.get(name_, {})
        span = check.at.section(name_)
        if not isinstance(raw, dict):
            raise check.fail(check.at.key(name_, top_span), f"{name_} must be a [{name_}] table")
        tables[name_] = check.fields(raw, spec, f"[{name_}]", span if span[0] else top_span)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        expected = 'at least one [[steps]] table with caption = "..." and actions'
        raise check.fail(check.at.key("steps", top_span), f"no steps; expected {expected}")
    steps = tuple(check.step(raw, i) for i, raw in enumerate(raw_steps))
    return Scenario(
        name,
        source,
        top["title"].strip(),
        top["summary"].strip(),
        top["seed"],
        tables["start"],
        tables["faults"],
        steps,
        kind,
    )


def builtin_names() -> list[str]:
    """The scenarios shipped with the package, in the order the lesson tells them."""
    names = sorted(
        p.name.removesuffix(".toml") for p in resources.files(PACKAGE).iterdir() if p.name.endswith(".toml")
    )
    order = {n: i for i, n in enumerate(LESSON_ORDER)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


LESSON_ORDER = (
    "t123",
    "naive",
    "hook",
    "lost-request",
    "duplicate",
    "payment",
    "order",
    "vote",
    "get-vs-post",
    "in-flight",
    "mismatch",
    "two-atms",
    "expiry",
    "crash-gap",
    "kafka",
)


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a file by path (anything ending in .toml)."""
    if name_or_path.endswith(".toml"):
        return parse(read_file(name_or_path), Path(name_or_path).stem, name_or_path)
    names = builtin_names()
    if name_or_path not in names:
        accepted = f"{', '.join(names)} or a path to a .toml file"
        raise ScenarioError(f"scenario {name_or_path!r}: no such scenario; use one of {accepted}")
    resource = resources.files(PACKAGE).joinpath(f"{name_or_path}.toml")
    return parse(resource.read_text(encoding="utf-8"), name_or_path, f"atm_tui/scenarios/{name_or_path}.toml")


def read_file(name: str) -> str:
    """A scenario file's text: a regular file of at most MAX_FILE_BYTES, in UTF-8.

    A symlink to /dev/zero or a FIFO would never end, and a huge file would fill the memory, so
    the file's kind is checked first and no more than the cap is ever read.
    """
    shown = quoted(name)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
        with os.fdopen(os.open(name, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ScenarioError(f"scenario {shown}: not a regular file; give a .toml file")
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"scenario {shown}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"scenario {shown}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"scenario {shown}: over {MAX_FILE_BYTES:,} bytes; a scenario file is a few kilobytes of TOML"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"scenario {shown}: not UTF-8 text (byte {exc.start:,}); save it as UTF-8") from None


def load_all() -> list[Scenario]:
    return [load(n) for n in builtin_names()]
