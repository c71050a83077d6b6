"""JSON held to I-JSON (RFC 7493): duplicate member names and non-finite numbers refused."""

from __future__ import annotations

import json

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
        ('{"n": 1e400}', "1e400 is beyond the range of a double"),
        ("[-1.5E999]", "-1.5E999 is beyond the range of a double"),
    ],
)
def test_it_refuses_numbers_that_are_not_finite(text: str, message: str) -> None:
    with pytest.raises(NotIJSON, match=message):
        loads(text)


def test_it_refuses_as_a_value_error_and_leaves_malformed_json_to_the_decoder() -> None:
    assert issubclass(NotIJSON, ValueError)
    with pytest.raises(json.JSONDecodeError):
        loads('{"a": 1,')
