"""Shared pieces of the property-based layer: hostile values, raw requests, the envelope check.

Every example is bounded (few examples, small sizes) and derandomized, so CI runs the same
examples every time and each test stays well under a minute.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.exchange.taxii.conftest import shared, taxii_for

__all__ = ["shared", "taxii_for"]

ENVELOPE = {"title", "description", "http_status", "error_code"}

#: Reproducible and bounded: the DB fixtures are per test, and every example only adds to
#: or reads from them, which is why the function-scoped fixture check is off.
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Reads cost a few milliseconds: more examples for the same time.
READS = settings(BOUNDED, max_examples=150)

#: Any code point, lone surrogates included (hypothesis leaves them out by default).
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))

#: Numbers in other scripts, bounds of the types behind them, and the text forms of others.
HOSTILE_TEXT = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "²",
        "\u0663",
        "\u0661\u0660",
        "1e400",
        "NaN",
        "-1",
        "0",
        "01",
        str(2**31),
        str(2**63),
        str(2**64),
        "9" * 30,
        "9" * 5000,
        "x" * 5000,
        ",",
        ",,,",
        " ",
        "\n",
        "2026-11-20T09:30:00Z\n",
        "9999-12-31T23:59:59.999999999Z",
        "0001-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-20T09:30:00.1234567890Z",
    ]
)


def raw_cursor(text: str) -> str:
    """A cursor holding ``text``, in the encoding the server's own cursors use."""
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


CURSORS = st.one_of(
    st.tuples(st.integers(-(2**70), 2**70), st.integers(-(2**70), 2**70)).map(
        lambda pair: raw_cursor(f"{pair[0]}|{pair[1]}")
    ),
    st.integers(-(2**70), 2**70).map(lambda n: raw_cursor(str(n))),
    st.text(ANY_CHAR, max_size=20).map(raw_cursor),
)


def query_string(pairs: list[tuple[str, str]]) -> str:
    """Percent-encode as a client would; a lone surrogate goes out as its UTF-8-style bytes."""
    return "&".join(
        f"{quote(name, safe='')}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in pairs
    )


def assert_answered(response: Any, media_type: str) -> dict[str, Any] | None:
    """No 5xx; a 4xx is the error envelope in ``media_type``. The error body, if any."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code < 400:
        return None
    assert response["Content-Type"] == media_type, response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == ENVELOPE, body
    assert body["http_status"] == str(response.status_code)
    assert body["description"] and body["error_code"]
    return body
