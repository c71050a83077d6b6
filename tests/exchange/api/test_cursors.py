"""Keyset cursors: a position round-trips exactly, and only text this server writes is read."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from rest_framework.exceptions import ValidationError

from exchange.api.cursors import CURSOR_INT_MAX, cursor_decode, cursor_encode


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [
        (datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=UTC), 7),
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        # The latest datetime there is: its cursor is the bound, and reads back without overflow.
        (datetime.max.replace(tzinfo=UTC), CURSOR_INT_MAX),
    ],
)
def test_it_reads_back_the_position_it_wrote(position: tuple[datetime, int]) -> None:
    assert cursor_decode(cursor_encode(*position), kinds=(datetime, int)) == position


def test_it_writes_datetimes_as_microseconds_since_1970() -> None:
    latest = datetime.max.replace(tzinfo=UTC)
    assert cursor_encode(latest, 1) == raw_cursor(f"{CURSOR_INT_MAX}|1")
    assert cursor_encode(5) == raw_cursor("5")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage!",
        raw_cursor("1|1") + "==",  # padding this server never writes
        raw_cursor("1"),  # one key where the position has two
        raw_cursor("1|1|1"),
        raw_cursor("01|1"),  # leading zero
        raw_cursor("-1|1"),
        raw_cursor("\u0661|1"),  # Arabic-Indic digit
        raw_cursor(f"{CURSOR_INT_MAX + 1}|1"),  # past year 9999
        raw_cursor(f"1|{2**64}"),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode().rstrip("="),  # not ASCII
        "A" * 65,
    ],
)
def test_it_refuses_a_cursor_it_could_not_have_written(cursor: str) -> None:
    with pytest.raises(ValidationError) as refused:
        cursor_decode(cursor, kinds=(datetime, int))
    assert refused.value.detail == {"next": "Not a cursor this server issued."}
