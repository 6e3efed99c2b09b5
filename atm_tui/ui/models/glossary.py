"""The lesson's words, each in one line: the `?` glossary and the caption's first-use notes."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    """A word the screen uses, how to spot it in a caption, and what it means."""

    word: str
    pattern: str  # a regular expression, matched case-insensitively on word boundaries
    meaning: str


# In the order a lesson meets them. Our own words; one line each on an 80-column screen.
TERMS: tuple[Term, ...] = (
    Term("attempt", r"attempts?|#\d", "one send of a request by the client: #1, #2, #3 carry the same id"),
    Term("delivery", r"deliver(?:y|ies|ed|s)?|arriv(?:al|ed|es)", "one arrival of a request at the bank"),
    Term("key", r"keys?|idempotency-key", "the id the bank files a request under (T123): a resend is known"),
    Term("replay", r"replay(?:s|ed)?", "the bank answers from its stored reply and does nothing again"),
    Term("idempotent", r"idempoten(?:t|ce|cy)", "doing it twice has the effect of doing it once"),
    Term("409", r"409|in progress", "busy: the first delivery of this key is still being handled; retry"),
    Term("422", r"422|same key,? (?:a )?different|different request",
         "the key names another request: refused, nothing changes"),
    Term("offset", r"offsets?", "a record's place in the log; the committed offset is where a restart reads"),
    Term("epoch", r"epochs?|\be\d\b", "a generation number: a restarted producer or consumer gets a new one"),
    Term("fenced", r"fenc(?:e|ed|es|ing)", "refused because a newer epoch exists: a zombie cannot commit"),
    Term("pid/seq", r"pid|seq(?:uence)?(?: numbers?)?",
         "producer id and sequence number: the broker drops a batch whose seq it has seen"),
)

_COMPILED = [(t, re.compile(rf"(?<![\w/-])(?:{t.pattern})(?![\w-])", re.I)) for t in TERMS]


def used_in(text: str) -> list[Term]:
    """The terms `text` uses, in glossary order."""
    return [t for t, rx in _COMPILED if rx.search(text)]


def first_uses(texts: list[str]) -> list[list[Term]]:
    """For each text in order, the terms it is the first of `texts` to use."""
    seen: set[str] = set()
    out: list[list[Term]] = []
    for text in texts:
        new = [t for t in used_in(text) if t.word not in seen]
        seen.update(t.word for t in new)
        out.append(new)
    return out


def note(terms: list[Term]) -> str:
    """The caption's line for words used for the first time: `key: the id ...; replay: ...`."""
    return "; ".join(f"{t.word}: {t.meaning}" for t in terms)
