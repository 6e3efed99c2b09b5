"""Validating a scenario's text: one ScenarioError, one line naming the file, the line and the fix.

The format is docs/scenarios.md; what each table may hold is in schema.py, the actions in
actions.py and pipeline_actions.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any, Protocol

from atm_tui.scenarios.actions import ACTIONS, MAX_MS, Param
from atm_tui.scenarios.pipeline_actions import PIPELINE_ACTIONS
from atm_tui.scenarios.scenario import Action, Scenario, ScenarioError, Step
from atm_tui.scenarios.schema import (
    EXAMPLE,
    FAULTS,
    HOLD_EXPECTED,
    LESSON,
    PIPELINE_FAULTS,
    PIPELINE_START,
    START,
    STEP_KEYS,
    TABLES,
    TOP,
)
from atm_tui.scenarios.source_lines import WHOLE, SourceLines
from atm_tui.scenarios.timing import MAX_HOLD, MIN_SET_HOLD


class _Spec(Protocol):
    @property
    def params(self) -> dict[str, Param]: ...


class _Checker:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.at = SourceLines(text)
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
            if key not in STEP_KEYS:
                line = self.at.key(key, span) or span[0]
                raise self.fail(line, f"step {no}: unknown setting {key!r}; expected {', '.join(STEP_KEYS)}")
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


def read_toml(text: str, source: str) -> dict[str, Any]:
    """A scenario's TOML as a dict; bad TOML is one ScenarioError naming `source` and the line."""
    try:
        return tomllib.loads(text)
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


def parse(text: str, name: str, source: str) -> Scenario:
    """Validate a scenario's text; raise ScenarioError naming `source` and the line at fault."""
    data = read_toml(text, source)
    check = _Checker(source, text)
    top_span = check.at.section(None)
    for key in data:
        if key in TABLES:
            continue
        if key not in TOP:
            line = check.at.key(key, top_span) or check.at.find(rf"^\s*\[+\s*{re.escape(key)}\b", WHOLE)
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


def lesson_of(text: str, source: str) -> int:
    """A built-in scenario's `lesson = N`, its place in the lesson; absent or not a number is one line."""
    data = read_toml(text, source)
    check = _Checker(source, text)
    value = data.get("lesson")
    if value is None:
        raise check.fail(
            0,
            "no lesson; expected lesson = N at the top, before any [table], N its place in the lesson"
            " (1 is told first)",
        )
    if not LESSON.accepts(value):
        line = check.at.key("lesson", check.at.section(None))
        raise check.fail(line, f"the scenario: lesson = {_show(value)}; expected {LESSON.expected()}")
    return int(value)
