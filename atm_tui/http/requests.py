"""Reading one HTTP write request: its Idempotency-Key header and its JSON body, or a Problem."""

from __future__ import annotations

import json
import re
from typing import Any

from atm_tui.bank.money import MAX_AMOUNT, AmountError, parse_amount
from atm_tui.http.problems import Problem

MAX_KEY_LENGTH = 255  # Stripe's limit
MAX_CLIENT_LENGTH = 100
MAX_ACCOUNT_LENGTH = 64
ACCOUNT_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ACCOUNT_LENGTH}}}", re.ASCII)
MAX_BODY_BYTES = 16_384
MAX_TEXT = 100
# One pattern each, used by the server and published in the OpenAPI document, so the two agree.
# Text fields: anything a screen can show on one line. Control characters (C0, DEL, C1) and the
# line and paragraph separators are refused; so is a lone surrogate, which is no Unicode character
# (JSON Schema's strings hold characters, so the published pattern need not name them) and which
# no UTF-8 file can store.
TEXT_CHARS = "[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]"
TEXT_PATTERN = re.compile(TEXT_CHARS.replace("]", "\\uD800-\\uDFFF]") + "+")
# The Idempotency-Key header as sent: 1 to 255 printable ASCII characters with no space at either
# end (HTTP strips them), either a bare token (Stripe: T123) or a quoted string (the IETF draft:
# "T123", in which only \" and \\ are escapes). A bare value may not both start and end with '"'.
KEY_PATTERN = (
    '^(?:[!-~]|[!#-~][ -~]*[!-~]|"[ -~]*[!#-~]'
    '|"(?:[ !#-\\[\\]-~]|\\\\["\\\\])+")$'
)
KEY_RE = re.compile(KEY_PATTERN)  # a test checks parse_key accepts exactly what this matches
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
    if not 1 <= len(text) <= MAX_CLIENT_LENGTH or not all("!" <= ch <= "~" for ch in text):
        raise Problem("invalid-client", f"the Client-Id header must be 1 to {MAX_CLIENT_LENGTH} visible"
                      " ASCII characters (no spaces), e.g. 'Client-Id: atm-7'; leave it out to be anonymous")
    return text


def one_key_header(values: list[str]) -> str | None:
    """The one Idempotency-Key header's value. Two of them name two keys: which one would count?"""
    if len(values) > 1:
        raise Problem("invalid-key",
                      f"the request has {len(values)} Idempotency-Key headers; send exactly one")
    return values[0] if values else None


def parse_key(raw: str | None) -> str:
    """The Idempotency-Key: a token (`T123`, Stripe's spelling) or a structured-field string
    (`"T123"`, the IETF draft's spelling); both name the same key. Printable ASCII, 1 to 255."""
    if raw is None:
        raise Problem("missing-key", "a POST needs an Idempotency-Key header, e.g. 'Idempotency-Key: T123'")
    # Not stripped: HTTP already strips a header's spaces, and a key in a path is taken as written.
    text = raw
    if not text:
        raise Problem("invalid-key", "the Idempotency-Key is empty; use 1 to 255 printable ASCII characters")
    if len(text) > MAX_KEY_LENGTH:
        raise Problem("invalid-key", f"the Idempotency-Key has {len(text)} characters; use 1 to 255")
    if not all(" " <= ch <= "~" for ch in text):
        raise Problem("invalid-key", "the Idempotency-Key may hold only printable ASCII characters")
    if text[0] == " " or text[-1] == " ":
        raise Problem("invalid-key", "the Idempotency-Key starts or ends with a space; leave the spaces out")
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
        raise Problem("invalid-key", "the quoted Idempotency-Key is empty; use 1 to 255 printable ASCII"
                      " characters")
    return text


def check_media_type(content_type: str | None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        shown = media or "none"
        raise Problem("unsupported-media-type",
                      f"Content-Type is {shown}; send the body as JSON with 'Content-Type: application/json'")


def _integral(value: Any) -> int | None:
    """A JSON number with no fraction as an int, else None. JSON has one number type: 5000 and
    5000.0 are the same number (JSON Schema's `integer` admits both), so the bank takes both."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _amount(raw: Any) -> int:
    accepted = f"a whole number of rupees, a multiple of 100, from 100 to {MAX_AMOUNT:,}"
    value = _integral(raw)
    if value is None:
        raise Problem("invalid-body", f"amount must be a JSON number with no fraction: {accepted}")
    try:
        return parse_amount(str(value))
    except AmountError:
        raise Problem("invalid-body", f"amount {value} is out of range; use {accepted}") from None


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT or not TEXT_PATTERN.fullmatch(value):
        raise Problem("invalid-body", f"{name} must be a string of 1 to {MAX_TEXT} characters with no control"
                      " character, line separator or lone surrogate")
    return value


def _quantity(raw: Any) -> int:
    value = _integral(raw)
    if value is None or not 1 <= value <= MAX_QUANTITY:
        raise Problem("invalid-body",
                      f"quantity must be a JSON number with no fraction, from 1 to {MAX_QUANTITY:,}")
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
