"""Canonical forms of raw telemetry, so two labs derive the same bytes from the same input.

Everything here is a pure function of its arguments: no locale, clock or machine
setting takes part. The prompt rules are versioned (``PROMPT_NORMALIZATION``); any
change to them needs a new version, since it changes every ``normalized_sha256``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

#: The version of the prompt normalisation (and of the sketches computed over it).
PROMPT_NORMALIZATION = "v1"
#: What a quoted span and a number become.
QUOTE_PLACEHOLDER = "<q>"
NUMBER_PLACEHOLDER = "<n>"

# Quoted spans, tried left to right in one pass. A code fence comes first so its
# backticks are not read as inline code. A straight single quote opens a span only
# when no letter or digit precedes it and closes it only when none follows, so the
# apostrophes of "don't" or "users' data" are left alone.
_QUOTED = re.compile(
    r"```.*?```"
    r"|`[^`]*`"
    r'|"[^"]*"'
    r"|\u201c[^\u201d]*\u201d"
    r"|\u2018[^\u2019]*\u2019"
    r"|\u00ab[^\u00bb]*\u00bb"
    r"|(?<!\w)'[^']*'(?!\w)",
    re.DOTALL,
)
# A run of decimal digits (any script), with inner separators: 3.14, 1,000,000, 2026-01.
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_NON_DIGIT = re.compile(r"\D")


def normalize_prompt(text: str) -> str:
    """Prompt normalisation v1, in this order:

    1. Unicode NFKC (full-width and compatibility forms become their plain forms);
    2. lower-casing (``str.lower``);
    3. each quoted span, quotes included, becomes ``<q>``: a ```` ``` ```` fence, a
       `` `...` `` span, ``"..."``, curly double or single quotes, ``«...»``, and
       ``'...'`` when the quotes stand outside words;
    4. each number (digits, with inner ``.``, ``,``, ``:``, ``/`` or ``-`` between
       digits) becomes ``<n>``;
    5. every run of whitespace becomes one space, and the ends are trimmed.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _QUOTED.sub(QUOTE_PLACEHOLDER, text)
    text = _NUMBER.sub(NUMBER_PLACEHOLDER, text)
    return " ".join(text.split())


def normalize_pan(card_number: str) -> str:
    """The digits of a card number (PAN), checked for length (12-19) and the Luhn digit.

    Spaces, dashes and other separators are dropped. A number that fails the checks
    raises ``ValueError``: a typo would otherwise yield a fingerprint nobody else has.
    """
    digits = _NON_DIGIT.sub("", unicodedata.normalize("NFKC", card_number))
    if not 12 <= len(digits) <= 19:
        raise ValueError(f"a card number has 12 to 19 digits, not {len(digits)}")
    if not _luhn_valid(digits):
        raise ValueError("the card number fails the Luhn check")
    return digits


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalize_phone_prefix(phone: str, digits: int) -> str:
    """``+`` and the first ``digits`` digits of an international (E.164) number.

    The number must be written with its country code, led by ``+`` or ``00``; a
    national number is refused (``ValueError``), since its country cannot be known.
    """
    phone = unicodedata.normalize("NFKC", phone).strip()
    if phone.startswith("+"):
        body = phone[1:]
    elif phone.startswith("00"):
        body = phone[2:]
    else:
        raise ValueError(f"phone number {phone!r} is not in international form (+CC...)")
    number = _NON_DIGIT.sub("", body)
    if len(number) < digits:
        raise ValueError(f"phone number {phone!r} has fewer than {digits} digits")
    return "+" + number[:digits]


def normalize_domain(email_or_domain: str) -> str:
    """The lower-case domain of an e-mail address (or a bare domain), without a final dot."""
    domain = email_or_domain.rsplit("@", 1)[-1].strip().rstrip(".")
    domain = unicodedata.normalize("NFKC", domain).lower()
    if not domain or " " in domain:
        raise ValueError(f"{email_or_domain!r} has no usable domain")
    return domain


def to_epoch_us(value: datetime | float | int) -> int:
    """A point in time as integer microseconds since the Unix epoch (UTC).

    Epoch numbers are seconds. A datetime must carry a timezone: a naive one would be
    read differently on machines in different zones.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone")
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a datetime or epoch seconds, not {type(value).__name__}")
    return round(value * 1_000_000)


def stix_timestamp(value: datetime | float | int) -> str:
    """STIX 2.1 section 3.2 timestamp with exactly three fraction digits and ``Z``."""
    return format_epoch_us(to_epoch_us(value))


def format_epoch_us(micros: int) -> str:
    """Microseconds since the epoch as a STIX timestamp with exactly three fraction digits.

    Sub-millisecond digits are cut (floor), never rounded up into the next second.
    """
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros % 1_000_000 // 1000:03d}Z"
