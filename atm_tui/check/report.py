"""The check's results for people (a table, then each rule's requests as curl lines) and as JSON."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from atm_tui.check.runner import Outcome

MARK = {"pass": "PASS", "fail": "FAIL", "info": "info", "skip": "skip"}


def table(outcome: Outcome, *, width: int = 110, details: bool = True) -> str:
    """The summary table, one row a rule; then, unless `details` is off, each rule's evidence."""
    t = outcome.target
    lines = [f"atm-tui check: {t.method} {t.url} (key header {t.key_header}, run {outcome.run_id},"
             f" {outcome.seconds:.1f} s)"]
    name_w = max(len(v.rule) for v in outcome.verdicts)
    lines.append(f"{'RULE':<{name_w}}  {'VERDICT':<7}  EVIDENCE")
    indent = name_w + 11
    for v in outcome.verdicts:
        req = "" if v.required or v.verdict in ("info", "skip") else " (optional)"
        wrapped = textwrap.wrap(v.evidence + req, max(30, width - indent)) or [""]
        lines.append(f"{v.rule:<{name_w}}  {MARK[v.verdict]:<7}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    lines.append("")
    lines.append(outcome.summary())
    if details:
        for v in outcome.verdicts:
            if not v.steps:
                continue
            lines += ["", f"== {v.rule}: {MARK[v.verdict]}: {v.title}", f"   source: {v.source}"]
            lines += [f"   {line}" for step in v.steps for line in step.curl(t)]
        effect = t.effect_curl()
        if effect:
            lines += ["", f"# the effect number is read before and after each rule, at {t.effect_pointer}:",
                      f"   {effect}"]
    return "\n".join(lines)


def as_dict(outcome: Outcome) -> dict[str, Any]:
    t = outcome.target
    return {
        "target": t.url, "method": t.method, "key_header": t.key_header, "run": outcome.run_id,
        "seconds": round(outcome.seconds, 3), "ok": outcome.ok,
        "rules": [
            {"rule": v.rule, "title": v.title, "verdict": v.verdict, "required": v.required,
             "evidence": v.evidence, "source": v.source, "effects": v.effects,
             "steps": [s.to_dict() for s in v.steps],
             "curl": [line for s in v.steps for line in s.curl(t)]}
            for v in outcome.verdicts
        ],
    }


def as_json(outcome: Outcome) -> str:
    return json.dumps(as_dict(outcome))
