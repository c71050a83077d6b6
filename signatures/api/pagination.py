"""Opaque keyset cursors: a page's cost never depends on how deep it is (no OFFSET)."""

from __future__ import annotations

import base64
import binascii

from rest_framework import exceptions


def cursor_encode(*parts: int | str) -> str:
    text = "|".join(str(part) for part in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise exceptions.ValidationError({"next": "Not a cursor this server issued."}) from exc
    if len(values) != parts:
        raise exceptions.ValidationError({"next": "Not a cursor this server issued."})
    return values


def limit_parse(value: str | None, *, maximum: int, default: int) -> int:
    if value is None or value == "":
        return min(default, maximum)
    if not value.isdigit() or int(value) < 1:
        raise exceptions.ValidationError({"limit": "Must be a positive integer."})
    return min(int(value), maximum)
