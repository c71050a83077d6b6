"""JSON held to I-JSON (RFC 7493): duplicate member names and non-finite numbers refused."""

from __future__ import annotations

import json
import math

import pytest

from signatures.sdk.strict_json import NotIJSON, loads


def test_it_reads_ordinary_json_from_text_and_bytes() -> None:
    text = '{"a": [1, 2.5, -0.0, 1e300, "x", null, true], "b": {"a": 1}}'
    expected = {"a": [1, 2.5, -0.0, 1e300, "x", None, True], "b": {"a": 1}}
    assert loads(text) == expected
    assert loads(text.encode("utf-8")) == expected


def test_it_allows_the_same_name_in_different_objects() -> None:
    assert loads('[{"id": 1}, {"id": 2, "x": {"id": 3}}]') == [
        {"id": 1},
        {"id": 2, "x": {"id": 3}},
    ]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"id": "a", "id": "b"}', "id"),
        ('{"id": "a", "id": "a"}', "id"),  # even with the same value
        ('[{"ok": 1}, {"x": {"n": 1, "n": 2}}]', "n"),
        ('{"a": 1, "b": 2, "\\u0061": 3}', "a"),  # an escape names the same member
    ],
)
def test_it_refuses_a_duplicate_member_name_naming_it(text: str, name: str) -> None:
    with pytest.raises(NotIJSON, match=f"duplicate member name {name!r}"):
        loads(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"n": NaN}', "NaN is not a JSON number"),
        ('{"n": Infinity}', "Infinity is not a JSON number"),
        ('{"n": -Infinity}', "-Infinity is not a JSON number"),
    ],
)
def test_it_refuses_the_constants_that_are_not_json(text: str, message: str) -> None:
    with pytest.raises(NotIJSON, match=message):
        loads(text)


def test_it_reads_a_number_beyond_a_double_as_infinity_for_the_caller_to_refuse() -> None:
    assert loads('{"n": 1e400, "m": -1E+400}') == {"n": math.inf, "m": -math.inf}


def test_it_refuses_as_a_value_error_and_leaves_malformed_json_to_the_decoder() -> None:
    assert issubclass(NotIJSON, ValueError)
    with pytest.raises(json.JSONDecodeError):
        loads('{"a": 1,')
