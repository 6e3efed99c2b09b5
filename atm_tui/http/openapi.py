"""The OpenAPI 3.1 document served at /openapi.json: exactly the routes and answers of app.py."""

from __future__ import annotations

from typing import Any

from atm_tui.bank.money import MAX_AMOUNT
from atm_tui.http.problems import PROBLEM_JSON, PROBLEMS, TYPE_PREFIX
from atm_tui.http.requests import (
    KEY_PATTERN,
    MAX_ACCOUNT_LENGTH,
    MAX_CLIENT_LENGTH,
    MAX_KEY_LENGTH,
    MAX_QUANTITY,
    MAX_TEXT,
    OPERATION_OF,
    TEXT_CHARS,
)

_INTEGRAL = ("a JSON number with no fraction (5000 and 5000.0 are the same number, as JSON Schema's"
             " integer says)")
_AMOUNT = {"type": "integer", "minimum": 100, "maximum": MAX_AMOUNT, "multipleOf": 100,
           "description": f"whole rupees, a multiple of 100: {_INTEGRAL}", "examples": [5000]}
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": f"^{TEXT_CHARS}*$",
         "description": "any characters but control characters, line separators and lone surrogates"}
BODIES: dict[str, dict[str, Any]] = {
    "withdraw": {"amount": _AMOUNT},
    "payment": {"amount": _AMOUNT},
    "order": {"item": {**_TEXT, "examples": ["tea"]},
              "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY,
                           "description": _INTEGRAL, "examples": [2]}},
    "vote": {"voter": {**_TEXT, "examples": ["V7"]}, "choice": {**_TEXT, "examples": ["blue"]}},
}
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN}
KEY_HEADER = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "description": "The request's key: 1 to 255 printable ASCII characters, no space at either end, sent"
                   " once (two Idempotency-Key headers are a 400). Stripe's `T123` and the IETF draft's"
                   " quoted `\"T123\"` (only `\\\"` and `\\\\` escaped inside) are the same key. Sending"
                   " it again with the same body replays the first answer instead of doing the work again.",
    "schema": KEY_SCHEMA,
}
ACCOUNT_PARAM = {
    "name": "account_id", "in": "path", "required": True,
    "description": "The account: 1 to 64 letters, digits, '-' or '_'. A new bank has one, A-1001.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ACCOUNT_LENGTH,
               "pattern": f"^[A-Za-z0-9_-]{{1,{MAX_ACCOUNT_LENGTH}}}$"},
    "example": "A-1001",
}
CLIENT_HEADER = {
    "name": "Client-Id", "in": "header", "required": False,
    "description": "Who sends the request (an ATM, a student). A key belongs to the client that first"
                   " used it: the same key from another Client-Id is refused with 422, never replayed as"
                   " that client's answer. Without it the request is anonymous (one shared client).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CLIENT_LENGTH, "pattern": "^[!-~]+$"},
}
_REPLAYED = {"Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier"
                                     " request with the same key", "schema": {"type": "string",
                                                                              "enum": ["true"]}}}
_RETRY = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


def _problem(slug: str, description: str | None = None,
             headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description or PROBLEMS[slug][1],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        out["headers"] = headers
    return out


_INTERNAL = _problem("internal", "The bank failed to answer; the request's transaction rolled back")


def _write(op: str, summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": f"post_{op}",
        "parameters": [ACCOUNT_PARAM, KEY_HEADER, CLIENT_HEADER],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": BODIES[op], "required": list(BODIES[op]),
            "additionalProperties": False}}}},
        "responses": {
            "201": {"description": "Done (or, with Idempotent-Replayed, the stored answer of the first"
                                   " request with this key)", "headers": _REPLAYED,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
            "402": {"description": "Declined (insufficient funds): a result, stored and replayed like a"
                                   " success", "headers": _REPLAYED,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}},
            "400": _problem("missing-key", "Idempotency-Key missing, not valid or sent twice, Client-Id not"
                            " valid, or the body not valid"),
            "404": _problem("unknown-account", "No such account (or no such route: a '/' written %2F inside"
                            " the account id)"),
            "409": _problem("in-progress", headers=_RETRY),
            "413": _problem("body-too-large"),
            "415": _problem("unsupported-media-type"),
            "422": _problem("key-reused", "The key was used for a different request, or by another"
                                          " Client-Id"),
            "503": _problem("bank-busy", headers=_RETRY),
            "500": _INTERNAL,
        },
    }


SUMMARIES = {"withdraw": "Withdraw cash", "payment": "Pay by card", "order": "Create an order",
             "vote": "Cast a ballot"}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/accounts/{{account_id}}/{name}": {"post": _write(op, SUMMARIES[op])}
        for name, op in OPERATION_OF.items()
    }
    paths["/accounts/{account_id}"] = {"get": {
        "summary": "Balance inquiry (a read: no key needed)", "operationId": "get_account",
        "parameters": [ACCOUNT_PARAM],
        "responses": {"200": {"description": "The balance", "content": {"application/json": {"schema": {
            "type": "object", "required": ["account", "balance"],
            "properties": {"account": {"type": "string"}, "balance": {"type": "integer"}}}}}},
            "404": _problem("unknown-account"), "503": _problem("bank-busy", headers=_RETRY),
            "500": _INTERNAL}}}
    paths["/transactions/{key}"] = {"get": {
        "summary": "Status query: what became of the request sent with this key (a read)",
        "operationId": "get_transaction",
        "parameters": [
            {"name": "key", "in": "path", "required": True, "schema": KEY_SCHEMA, "example": "T123",
             "description": "the key as it was sent in Idempotency-Key"},
            {"name": "account", "in": "query", "required": False, "schema": ACCOUNT_PARAM["schema"],
             "example": "A-1001", "description": "needed only when the key is used on several accounts"}],
        "responses": {"200": {"description": "The stored status and response, and the debits under this key",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": _problem("invalid-query", "The key is not valid, or used on several accounts"),
                      "404": _problem("unknown-transaction", "No request with this key was processed: it is"
                                      " safe to send it again with the same key"),
                      "503": _problem("bank-busy", headers=_RETRY), "500": _INTERNAL}}}
    paths["/openapi.json"] = {"get": {"summary": "This document", "operationId": "get_openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                                          "application/json": {"schema": {"type": "object"}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "atm-tui bank", "version": "1",
                 "description": "The classroom bank over HTTP. Every POST needs an Idempotency-Key; the"
                 " same key with the same body is answered with the stored result (Idempotent-Replayed:"
                 " true). Keys are kept for the server's TTL (wall-clock ms, `serve --ttl`), then"
                 " forgotten. Errors are RFC 9457 problem details; a decline (402) is a stored result."},
        "paths": paths,
        "components": {"schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                "type": {"type": "string", "enum": [TYPE_PREFIX + s for s in PROBLEMS] + ["about:blank"]},
                "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
            "Result": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["approved", "declined"]}}},
        }},
    }
