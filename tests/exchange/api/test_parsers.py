"""exchange/api/parsers.py: strict JSON bodies, REST and TAXII (TAXII's through media.py).

Over HTTP on the REST publish endpoint, and the parser's parts on their own: duplicate
member names, nesting, encoding, the body size and the object count.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework import exceptions
from rest_framework.test import APIClient, APIRequestFactory

from exchange.api.parsers import (
    JSONParser,
    RequestTooLarge,
    json_loads_strict,
    objects_count_check,
    read_body,
)
from members.models import Member

URL = "/api/v1/objects/"


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


def parse(body: bytes, **meta: Any) -> Any:
    request = APIRequestFactory().post(URL, body, content_type="application/json", **meta)
    return JSONParser().parse(io.BytesIO(body), parser_context={"request": request})


# --- over HTTP -------------------------------------------------------------------------------


def test_it_answers_malformed_json_with_400(lab_client: APIClient) -> None:
    response = lab_client.post(URL, data='{"type": "bundle", ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["http_status"] == "400"
    assert "Malformed JSON" in response.json()["description"]


def test_it_refuses_duplicate_member_names(lab_client: APIClient) -> None:
    response = lab_client.post(
        URL, data='[{"id": "a", "id": "b"}]', content_type="application/json"
    )
    assert response.status_code == 400
    assert "duplicate member name 'id'" in response.json()["description"]


def test_it_refuses_deep_nesting(lab_client: APIClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = lab_client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400


def test_it_answers_an_oversized_body_with_413(
    lab_client: APIClient, settings: pytest.FixtureRequest
) -> None:
    settings.MAX_CONTENT_LENGTH = 1000  # type: ignore[attr-defined]
    response = lab_client.post(URL, data="[" + " " * 2000 + "]", content_type="application/json")
    assert response.status_code == 413
    assert response.json()["http_status"] == "413"


# --- the parser's parts ----------------------------------------------------------------------


def test_it_parses_a_body_exactly() -> None:
    assert parse(b'{"a": [1, 2.5, "three", null, true]}') == {"a": [1, 2.5, "three", None, True]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": 1,', "Malformed JSON at line 1 column 9"),
        (b'{"a": 1}\n{"b": 2}', "Malformed JSON at line 2 column 1"),
        (b'{"a": 1, "a": 2}', "duplicate member name 'a'"),
        (b'"\xff"', "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_it_says_where_and_why_a_body_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(exceptions.ParseError, match=message):
        json_loads_strict(body)


@override_settings(MAX_CONTENT_LENGTH=10)
def test_it_reads_a_body_up_to_the_limit_and_no_further() -> None:
    assert parse(b"[1,2,3,4] ") == [1, 2, 3, 4]
    with pytest.raises(RequestTooLarge, match="exceeds the limit of 10 bytes"):
        parse(b"[1,2,3,4,5]")


@override_settings(MAX_CONTENT_LENGTH=10)
def test_it_refuses_a_declared_length_over_the_limit_before_reading() -> None:
    stream = io.BytesIO(b"[]")
    request = APIRequestFactory().post(URL, b"[]", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "11"
    with pytest.raises(RequestTooLarge, match="of 11 bytes"):
        read_body(stream, {"request": request})
    assert stream.tell() == 0  # nothing read


@override_settings(MAX_CONTENT_LENGTH=10)
def test_it_reads_without_a_request_or_a_stream() -> None:
    assert read_body(io.BytesIO(b"[]"), None) == b"[]"
    assert read_body(None, None) == b""


@override_settings(MAX_OBJECTS_PER_REQUEST=2)
def test_it_counts_objects_against_the_limit() -> None:
    objects_count_check([{}, {}])
    with pytest.raises(RequestTooLarge, match="3 objects in one request; the limit is 2"):
        objects_count_check([{}, {}, {}])
    assert RequestTooLarge.status_code == 413
