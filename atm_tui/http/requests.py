"""Reading one HTTP write request: its Idempotency-Key header and its JSON body, or a Problem."""

from __future__ import annotations

import json
from typing import Any

from atm_tui.bank.money import MAX_AMOUNT, AmountError, parse_amount
from atm_tui.http.problems import Problem

MAX_KEY_LENGTH = 255  # Stripe's limit
MAX_CLIENT_LENGTH = 100
MAX_BODY_BYTES = 16_384
MAX_TEXT = 100
MAX_QUANTITY = 1_000

# The routes' write operations: route name -> the bank's operation name (bank/operations.py).
WITHDRAW = "withdraw"
OPERATION_OF = {"withdrawals": WITHDRAW, "payments": "payment", "orders": "order", "ballots": "vote"}
FIELDS_OF: dict[str, tuple[str, ...]] = {
    WITHDRAW: ("amount",),
    "payment": ("amount",),
    "order": ("item", "quantity"),
    "vote": ("voter", "choice"),
}


def parse_client(raw: str | None) -> str:
    """The Client-Id header: who sends the request (its keys are its own); '' when absent."""
    if raw is None:
        return ""
    text = raw.strip()
    if not 1 <= len(text) <= MAX_CLIENT_LENGTH or not all(" " <= ch <= "~" for ch in text):
        raise Problem("invalid-client", f"the Client-Id header must be 1 to {MAX_CLIENT_LENGTH} printable"
                      " ASCII characters, e.g. 'Client-Id: atm-7'; leave it out to be anonymous")
    return text


def parse_key(raw: str | None) -> str:
    """The Idempotency-Key: a token (`T123`, Stripe's spelling) or a structured-field string
    (`"T123"`, the IETF draft's spelling); both name the same key. Printable ASCII, 1 to 255."""
    if raw is None:
        raise Problem("missing-key", "a POST needs an Idempotency-Key header, e.g. 'Idempotency-Key: T123'")
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        inner, out, escaped = text[1:-1], [], False
        for ch in inner:
            if escaped:
                if ch not in '"\\':
                    raise Problem("invalid-key",
                                  "in a quoted Idempotency-Key only \\\" and \\\\ may be escaped")
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                raise Problem("invalid-key", "a quoted Idempotency-Key has a stray '\"' inside")
            else:
                out.append(ch)
        if escaped:
            raise Problem("invalid-key", "a quoted Idempotency-Key ends in a lone backslash")
        text = "".join(out)
    if not text:
        raise Problem("invalid-key", "the Idempotency-Key is empty; use 1 to 255 printable ASCII characters")
    if len(text) > MAX_KEY_LENGTH:
        raise Problem("invalid-key", f"the Idempotency-Key has {len(text)} characters; use 1 to 255")
    if not all(" " <= ch <= "~" for ch in text):
        raise Problem("invalid-key", "the Idempotency-Key may hold only printable ASCII characters")
    return text


def check_media_type(content_type: str | None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        shown = media or "none"
        raise Problem("unsupported-media-type",
                      f"Content-Type is {shown}; send the body as JSON with 'Content-Type: application/json'")


def _amount(value: Any) -> int:
    accepted = f"a whole number of rupees, a multiple of 100, from 100 to {MAX_AMOUNT:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise Problem("invalid-body", f"amount must be a JSON integer: {accepted}")
    try:
        return parse_amount(str(value))
    except AmountError:
        raise Problem("invalid-body", f"amount {value} is out of range; use {accepted}") from None


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT or not value.isprintable():
        raise Problem("invalid-body", f"{name} must be a string of 1 to {MAX_TEXT} printable characters")
    return value


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise Problem("invalid-body", f"quantity must be a JSON integer from 1 to {MAX_QUANTITY:,}")
    return value


def parse_body(operation: str, raw: bytes) -> dict[str, Any]:
    """The validated fields of one write request, exactly the ones FIELDS_OF names."""
    if len(raw) > MAX_BODY_BYTES:
        raise Problem("body-too-large", f"the body has {len(raw):,} bytes; the limit is {MAX_BODY_BYTES:,}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, an absurd number or nesting
        raise Problem("invalid-body", "the body is not valid JSON; send e.g. {\"amount\": 5000}") from None
    wanted = FIELDS_OF[operation]
    example = {"withdraw": '{"amount": 5000}', "payment": '{"amount": 5000}',
               "order": '{"item": "tea", "quantity": 2}', "vote": '{"voter": "V7", "choice": "blue"}'}
    if not isinstance(data, dict):
        raise Problem("invalid-body", f"the body must be a JSON object such as {example[operation]}")
    missing = [f for f in wanted if f not in data]
    extra = sorted(set(data) - set(wanted))
    if missing or extra:
        what = f"missing {', '.join(missing)}" if missing else f"unknown field {', '.join(extra)}"
        raise Problem("invalid-body", f"{what}; send exactly {example[operation]}")
    if operation in (WITHDRAW, "payment"):
        return {"amount": _amount(data["amount"])}
    if operation == "order":
        return {"item": _text("item", data["item"]), "quantity": _quantity(data["quantity"])}
    return {"voter": _text("voter", data["voter"]), "choice": _text("choice", data["choice"])}
