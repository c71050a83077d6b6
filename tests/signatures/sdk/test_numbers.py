"""signatures/sdk/numbers.py: decimal integers from text, ASCII digits only."""

from __future__ import annotations

import pytest

from signatures.sdk.numbers import ascii_natural


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("42", 42), ("007", 7), ("9" * 19, int("9" * 19))]
)
def test_it_reads_ascii_digits(text: str, value: int) -> None:
    assert ascii_natural(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "\u00b2", "\u0663", "1\u0661", "-1", "+1", " 1", "1 ", "1\n", "1.0", "0x10", "9" * 20],
)
def test_it_refuses_anything_else(text: str) -> None:
    assert ascii_natural(text) is None


def test_it_refuses_a_value_above_the_maximum() -> None:
    assert ascii_natural("101", maximum=100) is None
    assert ascii_natural("100", maximum=100) == 100
