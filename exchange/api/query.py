"""Query parameters, read strictly once for the REST API and TAXII.

Every parameter a view reads goes through :func:`query_value` / :func:`query_values`, every
number through :func:`natural_parse` and every timestamp through :func:`timestamp_query`;
``limit`` and ``added_after``, which the REST list and TAXII share, through
:func:`limit_query` and :func:`added_after_query` (``next`` is read by
:mod:`exchange.api.cursors`). A value these refuse is answered with 400 in the error
envelope, naming the parameter, before it reaches the database:

- control characters (NUL above all: PostgreSQL refuses it in text and the query would
  fail with a 500) and lone surrogates, which no UTF-8 URL can carry;
- values longer than :data:`QUERY_VALUE_MAX_LENGTH`, or a list of more than
  :data:`QUERY_VALUES_MAX` values;
- numbers in anything but ASCII digits (``str.isdigit`` accepts ``²``, which ``int``
  does not) or above their bound;
- timestamps that are not ASCII STIX timestamps.

Object ids in URL paths follow the same rule through :class:`SegmentConverter`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from django.http import QueryDict
from rest_framework import exceptions

from signatures.sdk.numbers import ascii_natural
from signatures.validation import ObjectRefused, StixTimestamp, timestamp_parse

#: Longer than any request line gunicorn accepts by default (4094 bytes), so a client
#: that reaches production through it never meets this bound.
QUERY_VALUE_MAX_LENGTH: Final = 4096
#: How many values one parameter may hold, repeated (``match[id]=a&match[id]=b``) or in a
#: comma-separated list: more than a request line through gunicorn can carry, and a bound
#: on the IN list a filter becomes.
QUERY_VALUES_MAX: Final = 1000
#: The largest number any parameter may hold: the largest PostgreSQL bigint, so that no
#: count, key or position can overflow a column it is compared with.
NUMBER_MAX: Final = 2**63 - 1

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _refused(name: str, reason: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: reason})


def value_check(name: str, value: str) -> str:
    """``value`` if it may be used as the value of ``name``; 400 otherwise."""
    if len(value) > QUERY_VALUE_MAX_LENGTH:
        raise _refused(name, f"Longer than {QUERY_VALUE_MAX_LENGTH} characters.")
    if _FORBIDDEN.search(value):
        raise _refused(name, "Holds a control character or a lone surrogate.")
    return value


def query_value(params: QueryDict, name: str) -> str | None:
    """The parameter's value (the last one if repeated), or None when absent or empty."""
    value = params.get(name)
    return value_check(name, value) if value else None


def query_values(params: QueryDict, name: str) -> tuple[str, ...]:
    """A list parameter: its comma-separated items, the parameter possibly repeated."""
    items = tuple(
        item.strip()
        for value in params.getlist(name)
        for item in value_check(name, value).split(",")
        if item.strip()
    )
    if len(items) > QUERY_VALUES_MAX:
        raise _refused(name, f"More than {QUERY_VALUES_MAX} values.")
    return items


class SegmentConverter:
    """``<segment:name>``: a path segment held to the same rule, as ids in TAXII and REST URLs.

    A segment it refuses matches no route, so the path answers 404 as any unknown path does.
    """

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        try:
            return value_check("path", value)
        except exceptions.ValidationError as exc:
            # Django reads a ValueError from a converter as "this route does not match".
            raise ValueError(value) from exc

    def to_url(self, value: str) -> str:
        return value


def natural_parse(value: str, *, name: str, minimum: int = 0, maximum: int = NUMBER_MAX) -> int:
    """A decimal integer written in ASCII digits, within ``[minimum, maximum]``."""
    number = ascii_natural(value, maximum=maximum)
    if number is None or number < minimum:
        raise _refused(name, f"Must be an integer from {minimum} to {maximum} in ASCII digits.")
    return number


def timestamp_query(value: str, *, name: str) -> StixTimestamp:
    """A STIX timestamp, by the one strict parser objects' timestamps go through too."""
    try:
        return timestamp_parse(value, object_id="query", prop=name)
    except ObjectRefused as exc:
        raise _refused(
            name, f"{value[:64]!r} is not a timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)."
        ) from exc


def limit_query(params: QueryDict, *, default: int, maximum: int) -> int:
    """``limit``: a positive integer, lowered to ``maximum`` (TAXII 2.1 section 3.5 allows
    it); ``default`` (within ``maximum`` too) when absent."""
    value = query_value(params, "limit")
    if value is None:
        return min(default, maximum)
    return min(natural_parse(value, name="limit", minimum=1), maximum)


def added_after_query(params: QueryDict) -> datetime | None:
    """``added_after``: the instant after which rows were received, or None when absent."""
    value = query_value(params, "added_after")
    return timestamp_query(value, name="added_after").value if value else None
