"""Numbers written as text, read strictly: ASCII digits only.

``str.isdigit`` accepts '²' and other Unicode digits, on which ``int()`` then raises, so a
header or parameter holding one would crash its reader. Every decimal integer that arrives
as text (query parameters, HTTP headers, signature headers) is read here.
"""

from __future__ import annotations

import re

#: At most 19 digits: every 64-bit value fits, and a megabyte of digits is never converted
#: (int() of a long digit string costs quadratic time, and Python refuses over 4,300 digits).
_DIGITS = re.compile(r"[0-9]{1,19}")


def ascii_natural(text: str, *, maximum: int | None = None) -> int | None:
    """``text`` as a non-negative integer if it is 1 to 19 ASCII digits (and not above
    ``maximum``), else None."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    if maximum is not None and value > maximum:
        return None
    return value
