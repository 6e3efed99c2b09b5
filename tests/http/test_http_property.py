"""A property test driven by /openapi.json: generated requests never get a 500 or an undocumented answer.

schemathesis would do this, but it pulls in its own pins of pytest plugins and hypothesis; this
test reads the served document and generates requests from it with hypothesis directly: valid
bodies from each request schema, near misses (a field off, a type wrong, extra fields), any JSON,
raw bytes, and keys that are missing, too long or outside printable ASCII.
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import BACKENDS, backend_db
from http_helpers import Running, http_bank
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples

from atm_tui.bank import postgres

OPENING = 1_000_000_000
# The books are checked after the property run on the same server: under pytest-xdist the module
# stays on one worker, in order.
pytestmark = pytest.mark.xdist_group("http-property")


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = backend_db(request, tmp_path_factory.mktemp("prop"))
    with http_bank(db, opening_balance=OPENING) as running:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            doc = client.get("/openapi.json").json()
            yield running, client, doc


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for the small JSON Schema subset the document uses."""
    kind = schema.get("type")
    if kind == "integer":
        lo, hi = schema.get("minimum", -10**6), schema.get("maximum", 10**6)
        step = schema.get("multipleOf", 1)
        return st.integers(-(-lo // step), hi // step).map(lambda n: n * step)
    if kind == "string":
        return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                       min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 20), 20))
    assert kind == "object", schema
    return st.fixed_dictionaries({k: from_schema(v) for k, v in schema["properties"].items()})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def bodies(schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    valid = from_schema(schema)
    near = st.tuples(valid, st.sampled_from(sorted(schema["properties"])), JSON_VALUES).map(
        lambda t: {**t[0], t[1]: t[2]})
    extra = st.tuples(valid, st.text(min_size=1, max_size=8), JSON_VALUES).map(lambda t: {**t[0], t[1]: t[2]})
    as_json = (valid | near | extra | JSON_VALUES).map(lambda v: json.dumps(v).encode())
    return as_json | st.binary(max_size=40)


GOOD_KEYS = st.text(st.sampled_from(string.ascii_letters + string.digits + "-_"), min_size=1, max_size=12)
KEYS = st.one_of(
    st.none(),
    GOOD_KEYS,
    # Any latin-1 text a client can put in a header (which cannot start or end with a space).
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300).filter(
        lambda k: k == k.strip()),
    st.integers(250, 260).map(lambda n: "K" * n),
)
SEGMENTS = st.sampled_from(["A-1001", "B-2"]) | st.text(max_size=12)


@st.composite
def requests(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes, dict[str, Any]]:
    path = draw(st.sampled_from(sorted(doc["paths"])))
    method = draw(st.sampled_from(sorted(doc["paths"][path])))
    op = doc["paths"][path][method]
    valid = draw(st.booleans())  # half the requests are valid in every part, so the bank works too
    url = path
    for param in op.get("parameters", []):
        if param["in"] == "path":
            # "." and ".." are not data in a URL path: the client removes them (RFC 3986, 5.2.4),
            # so the request would reach another route than the one drawn.
            fuzzed = (SEGMENTS | KEYS.filter(bool)).filter(lambda s: s not in (".", ".."))
            segment = "A-1001" if valid and param["name"] == "account_id" else draw(fuzzed)
            url = url.replace("{" + param["name"] + "}", quote(segment or "x", safe=""))
    headers: dict[str, str] = {}
    body = b""
    if method == "post":
        key = draw(GOOD_KEYS if valid else KEYS)
        if key is not None:
            headers["Idempotency-Key"] = key
        media = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x+json"]
        headers["Content-Type"] = "application/json" if valid else draw(st.sampled_from(media))
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = json.dumps(draw(from_schema(schema))).encode() if valid else draw(bodies(schema))
    return method.upper(), url, headers, body, op


@settings(max_examples=examples(250), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_no_request_from_the_document_gets_a_500(served: tuple[Running, httpx.Client, dict[str, Any]],
                                                 data: st.DataObject) -> None:
    bank, client, doc = served
    method, url, headers, body, op = data.draw(requests(doc))
    raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]  # bytes, as on the wire
    answer = client.request(method, url, headers=raw_headers, content=body)
    assert answer.status_code != 500, (method, url, headers, body, answer.text)
    documented = op["responses"]
    assert str(answer.status_code) in documented, (method, url, headers, body, answer.text)
    media = answer.headers["content-type"]
    assert media in documented[str(answer.status_code)]["content"], (answer.status_code, media)
    if media == "application/problem+json":
        problem = answer.json()
        assert problem["status"] == answer.status_code
        assert {"type", "title", "detail"} <= set(problem)


def test_the_property_run_kept_the_books(served: tuple[Running, httpx.Client, dict[str, Any]]) -> None:
    """Runs after the property test (same module server): money and ledger still agree."""
    bank, _client, _doc = served
    statuses = {r.status for r in bank.records}
    # The generator reached the bank's work, not only its refusals.
    assert {200, 201, 400, 404} <= statuses, statuses
    doubled = bank.query("SELECT txn_id FROM ledger GROUP BY txn_id HAVING count(*) > 1")
    assert doubled == []
    spent = int(bank.query("SELECT coalesce(sum(amount), 0) FROM ledger")[0][0])  # type: ignore[call-overload]
    assert bank.query("SELECT balance FROM accounts WHERE id = 'A-1001'") == [(OPENING - spent,)]
    if not postgres.is_url(bank.db):  # SQLite's own check of the file; PostgreSQL has no such file
        assert bank.query("PRAGMA integrity_check") == [("ok",)]

