"""Rupee amounts: parsing what a person typed and formatting what a person reads."""

from __future__ import annotations

MAX_AMOUNT = 10_000_000
"""The largest single withdrawal accepted (Rs 1 crore); keeps every sum far inside SQLite's int64."""

MAX_BALANCE = 1_000_000_000_000


class AmountError(ValueError):
    """A typed amount that is not a positive whole multiple of 100 rupees."""


def parse_amount(text: str, *, step: int = 100, maximum: int = MAX_AMOUNT) -> int:
    """Parse a typed amount ("5000", "5,000", "Rs 5000") into whole rupees, or raise AmountError."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    for prefix in ("Rs.", "Rs", "rs.", "rs", "₹"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :].strip()
            break
    accepted = f"a whole number of rupees, a multiple of {step}, from {step} to {maximum:,}"
    if not cleaned or len(cleaned) > 20:
        raise AmountError(f"amount {text!r} is not valid; use {accepted}")
    try:
        value = int(cleaned, 10)
    except ValueError:
        raise AmountError(f"amount {text!r} is not a whole number; use {accepted}") from None
    if value <= 0 or value > maximum or value % step:
        raise AmountError(f"amount {text!r} is out of range; use {accepted}")
    return value


def rupees(amount: int) -> str:
    """Format whole rupees the way the screen and the docs write them: Rs 45,000."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rs {abs(amount):,}"
