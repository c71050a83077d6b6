"""exchange/api/renderers.py: compact JSON, with stored objects embedded byte for byte."""

from __future__ import annotations

from exchange.api.renderers import JSONRenderer, stored_json


def test_it_renders_compact_json() -> None:
    body = JSONRenderer().render({"more": False, "objects": [{"a": 1.5, "b": None}]})
    assert body == b'{"more":false,"objects":[{"a":1.5,"b":null}]}'


def test_it_renders_no_data_as_an_empty_body() -> None:
    assert JSONRenderer().render(None) == b""
    assert JSONRenderer().render([]) == b"[]"


def test_it_embeds_stored_json_exactly_as_it_was_stored() -> None:
    # Member order, spacing and a number's spelling are what a signature covers.
    raw = '{"z": 1, "a": 1.50, "modified": "2026-11-20T09:30:00.1234567Z"}'
    body = JSONRenderer().render({"objects": [stored_json(raw), stored_json("[]")]})
    assert body == b'{"objects":[' + raw.encode() + b",[]]}"
