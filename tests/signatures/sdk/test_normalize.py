"""Normalisation v1: prompts, card numbers, phones, domains and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from signatures.sdk.normalize import (
    format_epoch_us,
    normalize_domain,
    normalize_pan,
    normalize_phone_prefix,
    normalize_prompt,
    stix_timestamp,
    to_epoch_us,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # NFKC folds full-width letters and digits before anything else.
        (
            "\uff34\uff28\uff29\uff2e\uff2b\u3000\uff53\uff54\uff45\uff50\u3000\uff11",
            "think step <n>",
        ),
        (
            "Solve problem 17 in 3.5 s (1,000,000 tries, 2026-01-02)",
            "solve problem <n> in <n> s (<n> tries, <n>)",
        ),
        ('Rate the answer "Paris is big" from 1 to 10', "rate the answer <q> from <n> to <n>"),
        ("Explain \u201cquantum\u201d and \u00abgravity\u00bb", "explain <q> and <q>"),
        ("Fix `foo()` here:\n```\nx = 1\n```\nthanks", "fix <q> here: <q> thanks"),
        # Apostrophes inside or at the end of words are not quotes.
        (
            "Don't skip the users' steps; say 'hi' twice",
            "don't skip the users' steps; say <q> twice",
        ),
        ("  many\t\tspaces \n and\u00a0lines  ", "many spaces and lines"),
        ("v2 of GPT4o", "v<n> of gpt<n>o"),
    ],
)
def test_prompt_normalisation_v1(raw: str, expected: str) -> None:
    assert normalize_prompt(raw) == expected


def test_prompt_normalisation_is_idempotent() -> None:
    once = normalize_prompt('Think about "X" 42 times, Bob\u2019s way')
    assert normalize_prompt(once) == once


def test_pan_keeps_digits_and_checks_luhn() -> None:
    assert normalize_pan("4111-1111 1111 1111") == "4111111111111111"
    with pytest.raises(ValueError, match="Luhn"):
        normalize_pan("4111 1111 1111 1112")
    with pytest.raises(ValueError, match="12 to 19 digits"):
        normalize_pan("4111 1111")


def test_phone_prefix_needs_an_international_number() -> None:
    assert normalize_phone_prefix("+44 7700 900123", 5) == "+44770"
    assert normalize_phone_prefix("0044 (7700) 900-123", 4) == "+4477"
    with pytest.raises(ValueError, match="international"):
        normalize_phone_prefix("07700 900123", 5)


def test_domain_of_an_email_address() -> None:
    assert normalize_domain("Someone@Mail.Example.") == "mail.example"
    with pytest.raises(ValueError):
        normalize_domain("someone@")


def test_timestamps_have_three_fraction_digits_and_z() -> None:
    moment = datetime(2026, 11, 24, 8, 30, 15, 123999, tzinfo=UTC)
    assert stix_timestamp(moment) == "2026-11-24T08:30:15.123Z"
    assert stix_timestamp(moment.timestamp()) == "2026-11-24T08:30:15.123Z"
    assert stix_timestamp(0) == "1970-01-01T00:00:00.000Z"
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert stix_timestamp(plus_two) == "2026-11-24T08:30:15.123Z"
    assert format_epoch_us(-1) == "1969-12-31T23:59:59.999Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        to_epoch_us(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        to_epoch_us(True)
