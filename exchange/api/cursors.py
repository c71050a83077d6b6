"""Opaque keyset cursors, for the REST list and every paged TAXII endpoint.

A cursor is the position of the last row served: the values of the keys a page is ordered
by, each an integer (a primary key) or a datetime (as microseconds since 1970), written as
the base64url text of ``|``-joined non-negative integers. Only a cursor this server could
have issued is decoded: the exact text :func:`cursor_encode` writes for integers within
the bound, so no crafted number (huge, negative, non-ASCII digits, leading zeros) ever
reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from rest_framework import exceptions

from exchange.api.query import natural_parse

#: What a cursor may hold: a primary key (int) or a datetime.
CursorKey = int | datetime
CursorKind = type[int] | type[datetime]

#: The largest integer a cursor holds: microseconds from 1970 to the last instant of year
#: 9999, the latest datetime there is, so a decoded datetime never overflows. Primary keys
#: stay far below it.
CURSOR_INT_MAX: Final = 253_402_300_799_999_999

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _integer(key: CursorKey) -> int:
    if isinstance(key, datetime):
        return (key - _EPOCH) // timedelta(microseconds=1)
    return key


def cursor_encode(*keys: CursorKey) -> str:
    """The cursor of the position ``keys``."""
    text = "|".join(str(_integer(key)) for key in keys)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, kinds: tuple[CursorKind, ...]) -> tuple[CursorKey, ...]:
    """The position ``cursor`` holds, one key of each of ``kinds``; 400 naming ``next``
    for any text :func:`cursor_encode` would not have written."""
    refused = exceptions.ValidationError({"next": "Not a cursor this server issued."})
    if not _CURSOR.fullmatch(cursor):
        raise refused
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        numbers = [
            natural_parse(value, name="next", maximum=CURSOR_INT_MAX)
            for value in text.decode("ascii").split("|")
        ]
    except (binascii.Error, UnicodeDecodeError, exceptions.ValidationError) as exc:
        raise refused from exc
    if len(numbers) != len(kinds) or cursor_encode(*numbers) != cursor:
        raise refused
    return tuple(
        _EPOCH + timedelta(microseconds=number) if kind is datetime else number
        for number, kind in zip(numbers, kinds, strict=True)
    )
