"""Opaque keyset cursors: a page's cost never depends on how deep it is (no OFFSET).

A cursor is the base64url text of ``|``-joined non-negative integers. Only a cursor this
server could have issued is decoded: the exact text :func:`cursor_encode` writes for
integers within the bound, so no crafted number (huge, negative, non-ASCII digits, leading
zeros) ever reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from rest_framework import exceptions

from exchange.api.query import natural_parse

#: The largest integer a cursor holds: microseconds from 1970 to the last instant of year
#: 9999, the latest ``date_added`` a datetime can hold. Primary keys stay far below it.
CURSOR_INT_MAX: Final = 253_402_300_799_999_999

_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")


def cursor_encode(*parts: int) -> str:
    text = "|".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, parts: int) -> list[str]:
    """The cursor's integers as decimal text, each within ``[0, CURSOR_INT_MAX]``."""
    refused = exceptions.ValidationError({"next": "Not a cursor this server issued."})
    if not _CURSOR.fullmatch(cursor):
        raise refused
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = text.decode("ascii").split("|")
        numbers = [natural_parse(value, name="next", maximum=CURSOR_INT_MAX) for value in values]
    except (binascii.Error, UnicodeDecodeError, exceptions.ValidationError) as exc:
        raise refused from exc
    if len(numbers) != parts or cursor_encode(*numbers) != cursor:
        raise refused
    return values


def limit_parse(value: str | None, *, maximum: int, default: int) -> int:
    """``limit``: a positive integer, lowered to ``maximum`` (TAXII 2.1 section 3.5 allows it)."""
    if value is None or value == "":
        return min(default, maximum)
    return min(natural_parse(value, name="limit", minimum=1), maximum)
