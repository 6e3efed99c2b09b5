"""Issue 14's hostile HTTP inputs and item 7 (a truthful OpenAPI): each refusal is a documented 4xx
problem detail that writes nothing, and the published schema admits exactly what the server takes."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import ACCOUNT, WITHDRAW, Running, http_bank, wait_records
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples

from atm_tui.http.openapi import document
from atm_tui.http.problems import Problem
from atm_tui.http.requests import KEY_RE, MAX_TEXT, TEXT_PATTERN, parse_body, parse_key
from atm_tui.http.server import HttpBank, bind

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with http_bank(tmp_path_factory.mktemp("bad")) as running, httpx.Client(base_url=running.url) as c:
        yield running, c


def _problem(answer: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"urn:atm-tui:problem:{slug}" and body["status"] == status
    return dict(body)


def matches(pattern: str, text: str) -> bool:
    """A schema pattern as JSON Schema (ECMA-262) reads it: its `$` is the very end, where Python's
    `$` would also match before a final newline."""
    assert pattern.endswith("$") and pattern.count("$") == 1
    return re.search(pattern[:-1] + r"\Z", text) is not None


def _documented(path: str, method: str, status: int) -> bool:
    return str(status) in document()["paths"][path][method]["responses"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", f"/accounts/{ACCOUNT}%2Fwithdrawals"),
    ("POST", f"/accounts/{ACCOUNT}%2fpayments"),
    ("GET", f"/accounts%2F{ACCOUNT}"),
])
def test_an_encoded_slash_is_no_route(shared: tuple[Running, httpx.Client], method: str, path: str) -> None:
    bank, client = shared
    before, seen = bank.counts(), len(bank.records)  # the module's server logged earlier cases
    answer = client.request(method, path, content=b'{"amount": 100}',
                            headers={**JSON_HEADERS, "Idempotency-Key": "SLASH1"})
    body = _problem(answer, 404, "not-found")
    assert "%2" in body["detail"] and "no such route" in body["detail"]
    assert bank.counts() == before
    # The log shows what was sent, not the decoded route (this request's record, not an earlier one).
    assert wait_records(bank, seen + 1)[-1].path == path


def test_two_idempotency_key_headers_are_400_and_documented(shared: tuple[Running, httpx.Client]) -> None:
    bank, client = shared
    before = bank.counts()
    headers = [("Content-Type", "application/json"), ("Idempotency-Key", "K1"), ("Idempotency-Key", "K2")]
    answer = client.post(WITHDRAW, content=b'{"amount": 100}', headers=headers)
    body = _problem(answer, 400, "invalid-key")
    assert "2 Idempotency-Key headers" in body["detail"] and "exactly one" in body["detail"]
    assert bank.counts() == before
    assert _documented("/accounts/{account_id}/withdrawals", "post", 400)
    assert "sent twice" in document()["paths"]["/accounts/{account_id}/withdrawals"]["post"]["responses"][
        "400"]["description"]


def test_a_client_that_leaves_mid_body_is_one_log_line(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    proc = subprocess.Popen([sys.executable, "-m", "atm_tui", "serve", "--port", "0", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        host, port = re.search(r"http://([\d.]+):(\d+)", banner).groups()  # type: ignore[union-attr]
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"POST /accounts/A-1001/withdrawals HTTP/1.1\r\nHost: x\r\nIdempotency-Key: MID1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amo")
        line = proc.stdout.readline()  # the request's log line, once the server saw the disconnect
        assert "MID1" in line and "client left" in line, line
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err and "ClientDisconnect" not in err, err
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
    finally:
        conn.close()


def test_an_ipv6_host_is_written_in_brackets(tmp_path: Path) -> None:
    try:
        sock = bind("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    from atm_tui.bank.store import StoreConfig, open_sync

    conn = open_sync(StoreConfig(str(tmp_path / "bank.db")))
    try:
        bank = HttpBank(conn, sock)
        assert re.fullmatch(r"http://\[::1\]:\d+", bank.url), bank.url
        assert httpx.URL(bank.url).host == "::1"
    finally:
        sock.close()
        conn.close()


def test_serve_prints_an_ipv6_url_with_brackets(tmp_path: Path) -> None:
    try:
        bind("::1", 0).close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    proc = subprocess.Popen([sys.executable, "-m", "atm_tui", "serve", "--host", "::1", "--port", "0",
                             "--db", str(tmp_path / "bank.db"), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ", 1)[1].split()[0]
        assert re.fullmatch(r"http://\[::1\]:\d+", url), url
        deadline = time.monotonic() + 10
        while True:  # bounded: until the printed URL answers
            try:
                assert httpx.get(f"{url}/accounts/{ACCOUNT}", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


# -- item 7: the schema and the server agree ----------------------------------------------------------
def test_an_integral_float_is_the_same_amount(tmp_path: Path) -> None:
    # JSON Schema's integer admits 5000.0, so the bank takes it: the same request as 5000.
    with http_bank(tmp_path) as bank, httpx.Client(base_url=bank.url) as client:
        sent = [client.post(WITHDRAW, content=raw, headers={**JSON_HEADERS, "Idempotency-Key": "F1"})
                for raw in (b'{"amount": 5000.0}', b'{"amount": 5000}', b'{"amount": 5e3}')]
        assert [a.status_code for a in sent] == [201, 201, 201]
        assert [a.headers.get("idempotent-replayed") for a in sent] == [None, "true", "true"]
        assert sent[0].json()["amount"] == 5000
        assert bank.query("SELECT amount FROM ledger") == [(5000,)]
    assert parse_body("order", b'{"item": "tea", "quantity": 2.0}') == {"item": "tea", "quantity": 2}
    for raw in (b'{"amount": 5000.5}', b'{"amount": 1e400}', b'{"amount": 1e300}'):
        with pytest.raises(Problem):
            parse_body("withdraw", raw)


def _accepted_key(text: str) -> bool:
    try:
        parse_key(text)
    except Problem:
        return False
    return True


KEYISH = st.text(st.sampled_from(['"', "\\", " ", "a", "T", "1", "~", "!", "é", "\t"]), max_size=8)


@settings(max_examples=examples(400), deadline=None)
@given(KEYISH | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=260))
def test_the_published_key_pattern_is_what_the_server_accepts(text: str) -> None:
    schema = document()["paths"]["/transactions/{key}"]["get"]["parameters"][0]["schema"]
    in_schema = schema["minLength"] <= len(text) <= schema["maxLength"] and matches(schema["pattern"], text)
    assert in_schema == _accepted_key(text), text
    assert KEY_RE.pattern == schema["pattern"]


def _accepted_text(text: str) -> bool:
    try:
        parse_body("vote", json.dumps({"voter": text, "choice": "blue"}).encode())
    except Problem:
        return False
    return True


@settings(max_examples=examples(400), deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=MAX_TEXT + 3)
       | st.text(st.sampled_from(["a", "\x00", "\x1f", "\x7f", "\x9f", "\xa0", "\u2028", "\u2029", "☕"]),
                 max_size=4))
def test_the_published_text_pattern_is_what_the_server_accepts(text: str) -> None:
    schema = document()["paths"]["/accounts/{account_id}/ballots"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["voter"]
    in_schema = schema["minLength"] <= len(text) <= schema["maxLength"] and matches(schema["pattern"], text)
    assert in_schema == _accepted_text(text), repr(text)


def test_a_lone_surrogate_is_refused_not_a_500() -> None:
    # No Unicode character and no UTF-8 file can hold it; the server refuses it with the rest.
    assert not TEXT_PATTERN.fullmatch("a\ud800")
    with pytest.raises(Problem, match="lone surrogate"):
        parse_body("vote", b'{"voter": "a\\ud800", "choice": "blue"}')


@pytest.mark.parametrize("account", ["A-1001", "a" * 64])
def test_account_ids_the_schema_admits_reach_the_bank(shared: tuple[Running, httpx.Client],
                                                      account: str) -> None:
    _, client = shared
    schema = document()["paths"]["/accounts/{account_id}"]["get"]["parameters"][0]["schema"]
    assert matches(schema["pattern"], account)
    answer = client.get(f"/accounts/{account}")
    assert answer.status_code == (200 if account == ACCOUNT else 404)


def test_the_documents_example_account_exists_on_a_new_bank(shared: tuple[Running, httpx.Client]) -> None:
    _, client = shared
    doc = document()
    examples = {p["example"] for path in doc["paths"].values() for op in path.values()
                for p in op.get("parameters", []) if p["name"] in ("account_id", "account")}
    assert examples == {ACCOUNT}
    assert client.get(f"/accounts/{ACCOUNT}").json()["account"] == ACCOUNT


def test_every_route_documents_its_server_error() -> None:
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            if path != "/openapi.json":
                assert "500" in op["responses"], (method, path)


def test_a_key_with_a_slash_can_be_queried(shared: tuple[Running, httpx.Client]) -> None:
    _, client = shared
    headers = {**JSON_HEADERS, "Idempotency-Key": "a/b"}
    sent = client.post(WITHDRAW, content=b'{"amount": 100}', headers=headers)
    assert sent.status_code == 201
    assert client.get("/transactions/a%2Fb").json()["txn_id"] == "a/b"
