"""The HTTP bank over a real uvicorn and a real HTTP client, checked against the SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from conftest import BACKENDS, backend_db
from http_helpers import ACCOUNT, WITHDRAW, Running, http_bank, wait_records

from atm_tui.bank import postgres

JSON_HEADERS = {"Content-Type": "application/json"}


def post(client: httpx.Client, key: str | None, body: Any, path: str = WITHDRAW) -> httpx.Response:
    headers = dict(JSON_HEADERS)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, content=json.dumps(body).encode(), headers=headers)


@pytest.fixture
def bank(bank_db: str) -> Any:
    with http_bank(bank_db) as running:
        yield running


@pytest.fixture
def client(bank: Running) -> Any:
    with httpx.Client(base_url=bank.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server per backend for the refusal tests: each checks that the bank did not change."""
    db = backend_db(request, tmp_path_factory.mktemp("shared"))
    with http_bank(db) as running, httpx.Client(base_url=running.url) as c:
        yield running, c


def test_the_t123_story_three_posts_one_debit_identical_bodies(bank: Running, client: httpx.Client) -> None:
    answers = [post(client, "T123", {"amount": 5000}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].content == answers[1].content == answers[2].content
    assert "idempotent-replayed" not in answers[0].headers
    assert [a.headers.get("idempotent-replayed") for a in answers[1:]] == ["true", "true"]
    assert answers[0].json()["balance_after"] == 45_000
    assert bank.query("SELECT txn_id, amount, balance_after FROM ledger") == [("T123", 5000, 45_000)]
    assert bank.query("SELECT balance FROM accounts WHERE id = ?", ACCOUNT) == [(45_000,)]
    assert bank.query("SELECT attempt, outcome FROM deliveries WHERE txn_id = 'T123' ORDER BY id") == [
        (1, "processed"), (2, "replayed"), (3, "replayed")]
    stored = bank.query("SELECT response, hits, status FROM idempotency_keys WHERE key = 'T123'")
    assert stored == [(answers[0].text, 3, "approved")]
    balance = client.get(f"/accounts/{ACCOUNT}")
    assert balance.status_code == 200 and balance.json() == {"account": ACCOUNT, "balance": 45_000}
    status = client.get("/transactions/T123").json()
    assert status["status"] == "approved" and status["debits"] == 1


def test_a_quoted_key_is_the_same_key(bank: Running, client: httpx.Client) -> None:
    first = post(client, "T7", {"amount": 100})
    again = post(client, '"T7"', {"amount": 100})
    assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
    assert bank.counts()[0] == 1


def test_a_missing_key_is_400_and_writes_nothing(bank: Running, client: httpx.Client) -> None:
    answer = post(client, None, {"amount": 5000})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400 and problem["type"].endswith("missing-key")
    assert "Idempotency-Key" in problem["detail"]
    assert bank.counts() == (0, 0, 0)


def test_the_same_key_with_another_body_is_422(bank: Running, client: httpx.Client) -> None:
    assert post(client, "T1", {"amount": 5000}).status_code == 201
    answer = post(client, "T1", {"amount": 6000})
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("key-reused")
    assert bank.query("SELECT amount FROM ledger") == [(5000,)]
    assert bank.query("SELECT outcome FROM deliveries ORDER BY id") == [("processed",), ("rejected",)]
    # A key is one request whatever the operation: reusing it for a payment is a different request.
    assert post(client, "T1", {"amount": 5000}, f"/accounts/{ACCOUNT}/payments").status_code == 422


def test_a_decline_is_402_stored_and_replayed(bank_db: str) -> None:
    with http_bank(bank_db, opening_balance=1_000) as bank, httpx.Client(base_url=bank.url) as client:
        first = post(client, "T9", {"amount": 5000})
        again = post(client, "T9", {"amount": 5000})
        assert first.status_code == again.status_code == 402
        assert first.json()["reason"] == "insufficient funds"
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        assert bank.query("SELECT count(*) FROM ledger") == [(0,)]
        assert bank.query("SELECT status, hits FROM idempotency_keys") == [("declined", 2)]
        assert bank.query("SELECT balance FROM accounts") == [(1_000,)]


def test_a_retry_while_the_first_is_processed_is_409_with_retry_after(bank: Running) -> None:
    bank.faults.arm_delay(800)  # the first request holds its key this long before its transaction

    async def story() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=bank.url, timeout=10) as ac:
            headers = {**JSON_HEADERS, "Idempotency-Key": "T50"}
            first = asyncio.create_task(ac.post(WITHDRAW, json={"amount": 5000}, headers=headers))
            for _ in range(1_000):  # bounded: until the server holds the key (a row with a lease)
                if bank.query("SELECT status FROM idempotency_keys WHERE key = 'T50'"):
                    break
                await asyncio.sleep(0.005)
            assert bank.query("SELECT account_id, status, lock_token IS NOT NULL FROM idempotency_keys") == [
                (ACCOUNT, "in_progress", 1)]
            second = await ac.post(WITHDRAW, json={"amount": 5000}, headers=headers)
            done = await first
            third = await ac.post(WITHDRAW, json={"amount": 5000}, headers=headers)
            return done, second, third

    done, second, third = asyncio.run(story())
    assert second.status_code == 409 and second.headers["retry-after"] == "1"
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["type"].endswith("in-progress")
    assert done.status_code == 201 and third.status_code == 201
    assert third.headers["idempotent-replayed"] == "true" and third.content == done.content
    assert bank.query("SELECT count(*) FROM ledger") == [(1,)]
    assert bank.query("SELECT outcome FROM deliveries ORDER BY id") == [
        ("in_progress",), ("processed",), ("replayed",)]


def test_fifty_concurrent_requests_with_one_new_key_debit_once(bank: Running) -> None:
    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=bank.url, timeout=20, limits=limits) as ac:
            headers = {**JSON_HEADERS, "Idempotency-Key": "T777"}
            return list(await asyncio.gather(
                *(ac.post(WITHDRAW, json={"amount": 5000}, headers=headers) for _ in range(50))))

    answers = asyncio.run(burst())
    statuses = Counter(a.status_code for a in answers)
    print("statuses of the burst:", dict(statuses))
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    assert bank.query("SELECT txn_id, amount FROM ledger") == [("T777", 5000)]
    assert bank.query("SELECT balance FROM accounts") == [(45_000,)]
    bodies = {a.content for a in answers if a.status_code == 201}
    assert len(bodies) == 1
    outcomes = Counter(r[0] for r in bank.query("SELECT outcome FROM deliveries"))
    assert outcomes["processed"] == 1 and sum(outcomes.values()) == 50
    assert outcomes["in_progress"] == statuses[409]


def test_a_dropped_reply_was_committed_and_the_retry_is_a_replay(bank: Running, client: httpx.Client) -> None:
    bank.faults.arm_drop(1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, "T200", {"amount": 5000})
    assert bank.query("SELECT txn_id FROM ledger") == [("T200",)]  # the debit happened
    retry = post(client, "T200", {"amount": 5000})
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert bank.query("SELECT count(*) FROM ledger") == [(1,)]
    records = wait_records(bank, 2)
    assert [r.outcome for r in records if r.key == "T200"] == ["dropped", "replayed"]
    assert records[0].status == 0


def test_a_key_is_forgotten_after_its_ttl(bank_db: str) -> None:
    with http_bank(bank_db, ttl_ms=30) as bank, httpx.Client(base_url=bank.url) as client:
        assert post(client, "T5", {"amount": 100}).status_code == 201
        expires = int(bank.query("SELECT expires_at FROM idempotency_keys")[0][0])  # type: ignore[call-overload]
        deadline = time.monotonic() + 5
        while time.time_ns() // 1_000_000 <= expires:  # bounded: wait out the stored expiry
            assert time.monotonic() < deadline
            time.sleep(0.01)
        again = post(client, "T5", {"amount": 100})
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
        assert bank.query("SELECT count(*) FROM ledger") == [(2,)]


BAD_BODIES = [
    (b"{not json", 400), (b"[5000]", 400), (b'{"amount": -5000}', 400), (b'{"amount": 0}', 400),
    (b'{"amount": 50.5}', 400), (b'{"amount": 5000.5}', 400), (b'{"amount": 5001}', 400),
    (b'{"amount": "5000"}', 400), (b'{"amount": true}', 400), (b'{"amount": 1e400}', 400),
    (b'{"amount": NaN}', 400), (b'{"amount": 5000, "to": "B"}', 400), (b"{}", 400),
    (b'{"amount": ' + b"9" * 5000 + b"}", 400), (b"[" * 100_000, 413), (b"\xff\xfe", 400),
    (b'{"amount": 20000000}', 400),
]


@pytest.mark.parametrize(("raw", "status"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
def test_bad_bodies_get_a_problem_and_write_nothing(shared: tuple[Running, httpx.Client], raw: bytes,
                                                    status: int) -> None:
    bank, client = shared
    before = bank.counts()
    answer = client.post(WITHDRAW, content=raw, headers={**JSON_HEADERS, "Idempotency-Key": "T1"})
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status
    assert bank.counts() == before


@pytest.mark.parametrize(("headers", "path", "status", "slug"), [
    ({"Idempotency-Key": "K" * 256}, WITHDRAW, 400, "invalid-key"),
    ({"Idempotency-Key": ""}, WITHDRAW, 400, "invalid-key"),
    ({"Idempotency-Key": '"a"b"'}, WITHDRAW, 400, "invalid-key"),
    ({"Idempotency-Key": "T1"}, "/accounts/NOPE/withdrawals", 404, "unknown-account"),
    ({"Idempotency-Key": "T1", "Content-Type": "text/plain"}, WITHDRAW, 415, "unsupported-media-type"),
    ({"Idempotency-Key": "T1"}, "/accounts/A-1001/transfers", 404, "not-found"),
])
def test_bad_requests_get_a_problem_and_write_nothing(shared: tuple[Running, httpx.Client],
                                                      headers: dict[str, str], path: str, status: int,
                                                      slug: str) -> None:
    bank, client = shared
    before = bank.counts()
    answer = client.post(path, content=b'{"amount": 5000}', headers={**JSON_HEADERS, **headers})
    assert (answer.status_code, answer.json()["type"].rsplit(":", 1)[1]) == (status, slug)
    assert answer.headers["content-type"] == "application/problem+json"
    assert bank.counts() == before


def test_a_key_of_255_characters_is_accepted(bank: Running, client: httpx.Client) -> None:
    assert post(client, "K" * 255, {"amount": 100}).status_code == 201


def test_reads_need_no_key(bank: Running, client: httpx.Client) -> None:
    assert client.get(f"/accounts/{ACCOUNT}").json() == {"account": ACCOUNT, "balance": 50_000}
    unknown = client.get("/accounts/B-9")
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("unknown-account")
    missing = client.get("/transactions/T404")
    assert missing.status_code == 404 and "safe" in missing.json()["detail"]
    assert client.delete(f"/accounts/{ACCOUNT}").status_code == 405
    assert bank.counts() == (0, 0, 0)


@pytest.mark.parametrize("path", ["/accounts/0%2F", f"/accounts/{ACCOUNT}/", "/openapi.json/"])
def test_a_trailing_slash_is_404_not_a_redirect(bank: Running, client: httpx.Client, path: str) -> None:
    # Found by the OpenAPI property test: Starlette's default answers 307, which is not documented.
    answer = client.get(path)
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_payments_orders_and_ballots_share_the_handler(bank: Running, client: httpx.Client) -> None:
    routes = [("payments", {"amount": 700}), ("orders", {"item": "tea", "quantity": 2}),
              ("ballots", {"voter": "V1", "choice": "blue"})]
    for name, body in routes:
        path = f"/accounts/{ACCOUNT}/{name}"
        first = post(client, f"K-{name}", body, path)
        again = post(client, f"K-{name}", body, path)
        assert first.status_code == 201, first.text
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert bank.query("SELECT count(*) FROM payments") == [(1,)]
    assert bank.query("SELECT count(*) FROM orders") == [(1,)]
    assert bank.query("SELECT count(*) FROM ballots") == [(1,)]
    assert bank.query("SELECT balance FROM accounts") == [(49_300,)]


def test_the_openapi_document_lists_exactly_the_routes(bank: Running, client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    routes = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == {
        ("/accounts/{account_id}", "get"), ("/transactions/{key}", "get"), ("/openapi.json", "get"),
        *((f"/accounts/{{account_id}}/{n}", "post")
          for n in ("withdrawals", "payments", "orders", "ballots")),
    }
    post_op = doc["paths"]["/accounts/{account_id}/withdrawals"]["post"]
    assert {"201", "400", "402", "409", "422"} <= set(post_op["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post_op["parameters"])


def test_each_request_reaches_the_observers(bank: Running, client: httpx.Client) -> None:
    post(client, "T1", {"amount": 100})
    post(client, "T1", {"amount": 100})
    client.get(f"/accounts/{ACCOUNT}")
    got = [(r.method, r.key, r.status, r.outcome, r.replayed) for r in wait_records(bank, 3)]
    assert got == [("POST", "T1", 201, "processed", False), ("POST", "T1", 201, "replayed", True),
                   ("GET", None, 200, "read", False)]
    assert bank.records[0].client.startswith("127.0.0.1:")


def test_a_locked_file_is_503_and_the_retry_works(bank_db: str) -> None:
    on_pg = postgres.is_url(bank_db)
    # PostgreSQL: the bank waits for the writer lock as long as the database's lock_timeout says.
    with http_bank(bank_db + "?options=-c%20lock_timeout%3D300" if on_pg else bank_db) as bank, \
            httpx.Client(base_url=bank.url, timeout=10) as client:
        other = postgres.PgConnection(bank_db) if on_pg else sqlite3.connect(bank.db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
            answer = post(client, "T60", {"amount": 5000})
            assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"].endswith("bank-busy")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert bank.counts() == (0, 0, 0)
        retry = post(client, "T60", {"amount": 5000})
        assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers, retry.text
        assert bank.query("SELECT txn_id FROM ledger") == [("T60",)]


def test_another_body_while_the_first_is_in_flight_is_422(bank: Running) -> None:
    bank.faults.arm_delay(500)

    async def story() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=bank.url, timeout=10) as ac:
            headers = {**JSON_HEADERS, "Idempotency-Key": "T51"}
            first = asyncio.create_task(ac.post(WITHDRAW, json={"amount": 5000}, headers=headers))
            for _ in range(1_000):  # bounded: until the server holds the key (a row with a lease)
                if bank.query("SELECT status FROM idempotency_keys WHERE key = 'T51'"):
                    break
                await asyncio.sleep(0.005)
            other = await ac.post(WITHDRAW, json={"amount": 6000}, headers=headers)
            return await first, other

    done, other = asyncio.run(story())
    assert other.status_code == 422 and other.json()["type"].endswith("key-reused")
    assert done.status_code == 201
    assert bank.query("SELECT amount FROM ledger") == [(5000,)]
    assert bank.query("SELECT outcome FROM deliveries ORDER BY id") == [("rejected",), ("processed",)]
