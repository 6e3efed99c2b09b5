"""RFC 9457 problem details: the JSON body of every refusal the HTTP bank sends."""

from __future__ import annotations

from typing import Any

from atm_tui.bank.core import canonical

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:atm-tui:problem:"

# slug -> (HTTP status, title). One table, so the OpenAPI document and the handlers agree.
PROBLEMS: dict[str, tuple[int, str]] = {
    "missing-key": (400, "Idempotency-Key header missing"),
    "invalid-key": (400, "Idempotency-Key header not valid"),
    "invalid-client": (400, "Client-Id header not valid"),
    "invalid-body": (400, "Request body not valid"),
    "invalid-query": (400, "Query not valid"),
    "unknown-account": (404, "No such account"),
    "unknown-transaction": (404, "No such transaction"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "in-progress": (409, "Request with this key still being processed"),
    "body-too-large": (413, "Request body too large"),
    "unsupported-media-type": (415, "Body must be JSON"),
    "key-reused": (422, "Idempotency-Key reused with a different request or by another client"),
    "bank-busy": (503, "Bank storage busy"),
    "internal": (500, "Internal error"),
}


class Problem(Exception):
    """A refusal: raised anywhere in a request's handling, answered as one problem detail."""

    def __init__(self, slug: str, detail: str, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{slug}: {detail}")
        self.slug = slug
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return PROBLEMS[self.slug][0]

    def body(self) -> bytes:
        status, title = PROBLEMS[self.slug]
        payload = {**self.extra, "type": TYPE_PREFIX + self.slug, "title": title, "status": status,
                   "detail": self.detail}
        return canonical(payload).encode()
