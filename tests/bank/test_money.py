"""parse_amount accepts whole rupees in multiples of 100 and names the input when it refuses."""

from __future__ import annotations

import pytest

from atm_tui.bank.money import MAX_AMOUNT, AmountError, parse_amount, rupees


@pytest.mark.parametrize(
    ("text", "value"),
    [("5000", 5000), ("100", 100), ("5,000", 5000), ("Rs 5000", 5000), ("Rs. 5,000", 5000),
     ("₹5000", 5000), (" 45000 ", 45000), (str(MAX_AMOUNT), MAX_AMOUNT)],
)  # fmt: skip
def test_accepts(text: str, value: int) -> None:
    assert parse_amount(text) == value
    assert isinstance(parse_amount(text), int)


@pytest.mark.parametrize(
    "text",
    ["0", "-5", "-100", "12.5", "5000.0", "abc", "", "   ", "Rs", str(10**30), "150", "5001", "1e3",
     str(MAX_AMOUNT + 100), "0x100", "Rs -500", "NaN", "inf"],
)  # fmt: skip
def test_refuses_with_one_line_naming_the_input(text: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text) in message
    assert "multiple of 100" in message


def test_step_and_maximum_are_parameters() -> None:
    assert parse_amount("50", step=50) == 50
    with pytest.raises(AmountError):
        parse_amount("1000", maximum=500)


@pytest.mark.parametrize(
    ("amount", "text"),
    [(45000, "Rs 45,000"), (0, "Rs 0"), (-5000, "-Rs 5,000"), (10_000_000, "Rs 10,000,000")],
)
def test_rupees(amount: int, text: str) -> None:
    assert rupees(amount) == text
