"""Finding lines in a scenario's raw text, so an error can name one: tomllib gives values, not positions."""

from __future__ import annotations

import re

HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
WHOLE = (1, 10**9)  # a span covering any file


class SourceLines:
    """A TOML text's lines and its [table] / [[table]] headers; spans are lines [first, last)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.starts = [m.start() for m in re.finditer(r"^", text, re.M)]
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is array of tables)
        for no, line in enumerate(self.lines, start=1):
            m = HEADER.match(line)
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
        for no in range(max(span[0], 1), min(span[1], len(self.lines) + 1)):
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
        """The line setting `key` (bare or quoted) in span, or 0."""
        return self.find(rf"^\s*([\"']?){re.escape(key)}\1\s*=", span)
