"""JSON parsing held to I-JSON (RFC 7493), as RFC 8785 canonicalization requires.

Duplicate member names are refused: parsers disagree on which of two same-named members
wins, so a signature checked over one reading could be shown with the other. NaN and
Infinity, which Python's json accepts, are not JSON and are refused too. A number beyond a
double's range (``1e400``) is JSON, though not I-JSON: it is read, as infinity, and refused
by whoever checks the value (the exchange refuses the one object holding it, not the body).
"""

from __future__ import annotations

import json
from typing import Any


class NotIJSON(ValueError):
    """The text is JSON, but not I-JSON (RFC 7493): a duplicate name or a non-finite number."""


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise NotIJSON(f"duplicate member name {name!r} (not I-JSON, RFC 7493)")
        result[name] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise NotIJSON(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises :class:`NotIJSON` (a ValueError) on what I-JSON forbids."""
    return json.loads(text, object_pairs_hook=_without_duplicates, parse_constant=_refuse_constant)
