"""The server under check: its requests (key, body, headers), its effect number, and curl spellings."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = "{n}"
SERVE_ROUTE = re.compile(r"^/accounts/([^/]+)/(withdrawals|payments)$")
SERVE_PATH = "/accounts/A-1001/withdrawals"
SERVE_BODY = '{"amount": 100}'
SERVE_DECLINE = '{"amount": 10000000}'  # more than any opening balance: a decline the bank stores


class EffectError(Exception):
    """The effect number could not be read: the message names the URL or the pointer."""


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """RFC 6901: '' is the whole document, '/a/0' is doc['a'][0]; raises KeyError naming the step."""
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        raise KeyError(f"{pointer!r} does not start with '/'")
    node = doc
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(f"no {part!r} at that point of the document")
    return node


def bumped(body: str) -> str | None:
    """The same JSON body with its first number doubled: another request of the same shape."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    done = False

    def walk(node: Any) -> Any:
        nonlocal done
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not done and isinstance(node, int | float) and not isinstance(node, bool) and node:
            done = True
            return node * 2
        return node

    changed = walk(doc)
    return json.dumps(changed) if done else None


@dataclass(frozen=True, slots=True)
class Target:
    """How to talk to the endpoint under check. `body` may hold `{n}`, replaced per request."""

    base: str
    path: str = SERVE_PATH
    method: str = "POST"
    body: str = SERVE_BODY
    other_body: str | None = None
    decline_body: str | None = None
    key_header: str = "Idempotency-Key"
    headers: tuple[tuple[str, str], ...] = ()
    effect_url: str | None = None
    effect_pointer: str = "/balance"
    key_optional: bool = False
    mismatch_status: tuple[int, ...] = (422,)

    @classmethod
    def with_defaults(cls, base: str, *, path: str | None = None, body: str | None = None,
                      effect_url: str | None = None, effect_pointer: str | None = None,
                      decline_body: str | None = None, **rest: Any) -> Target:
        """Fill what `atm-tui serve` needs when the path is one of its write routes (or not given)."""
        base = base.rstrip("/")
        path = path or SERVE_PATH
        served = SERVE_ROUTE.match(path)
        if served and effect_url is None:
            effect_url = f"{base}/accounts/{served.group(1)}"
            effect_pointer = effect_pointer if effect_pointer is not None else "/balance"
        if served and decline_body is None:
            decline_body = SERVE_DECLINE
        return cls(base, path, body=body if body is not None else SERVE_BODY, effect_url=effect_url,
                   effect_pointer=effect_pointer if effect_pointer is not None else "",
                   decline_body=decline_body,
                   **rest)

    @property
    def url(self) -> str:
        return self.base + self.path

    def body_for(self, n: int, template: str | None = None) -> str:
        return (template if template is not None else self.body).replace(PLACEHOLDER, str(n))

    def other_for(self, n: int) -> str | None:
        """A body that differs from body_for(n): --other-body, another {n}, or the first number doubled."""
        if self.other_body is not None:
            return self.body_for(n + 500_000, self.other_body)
        if PLACEHOLDER in self.body:
            return self.body_for(n + 500_000)
        return bumped(self.body)

    def request_headers(self, key: str | None) -> dict[str, str]:
        out = {"Content-Type": "application/json", **dict(self.headers)}
        if key is not None:
            out[self.key_header] = key
        return out

    def curl(self, key: str | None, body: str) -> str:
        """One pasteable line that sends this request straight to the target."""
        parts = ["curl", "-si", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers(key).items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if body:
            parts += ["--data", shlex.quote(body)]
        return " ".join(parts)

    def effect_curl(self) -> str | None:
        return None if self.effect_url is None else f"curl -s {shlex.quote(self.effect_url)}"

    def read_number(self, status: int, content: bytes) -> float:
        """The effect number in a GET's answer, or EffectError naming what was wrong."""
        where = f"--effect {self.effect_url}"
        if not 200 <= status < 300:
            raise EffectError(f"{where} answered {status}; give a GET that returns JSON with a number")
        try:
            doc = json.loads(content)
        except ValueError:
            raise EffectError(f"{where} did not answer JSON") from None
        try:
            value = resolve_pointer(doc, self.effect_pointer)
        except KeyError as exc:
            raise EffectError(f"--effect-pointer {self.effect_pointer!r}: {exc.args[0]} in {where}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EffectError(f"--effect-pointer {self.effect_pointer!r} points at {value!r}, not a number")
        return float(value)
