"""The REST list's query parameters and object paths read strictly: 400 naming the parameter.

Each case once answered 500 on PostgreSQL (NUL in text, int() of a superscript digit, a
cursor past a bigint).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from exchange.api.cursors import cursor_encode
from exchange.api.query import (
    NUMBER_MAX,
    added_after_query,
    limit_query,
    natural_parse,
    value_check,
)
from members.models import Member
from signatures.models import StixObject
from tests import stix_samples as samples

URL = "/api/v1/objects/"
ENVELOPE = {"title", "description", "http_status", "error_code"}


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    client = client_for(lab_a, "read", "publish")
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    response = client.post(URL, json.dumps([indicator]), content_type="application/json")
    assert response.status_code == 200, response.content
    return client


def huge_cursor() -> str:
    return base64.urlsafe_b64encode(str(2**64).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("type", "indicator\x00"),
        ("created_by_ref", "\x00"),
        ("added_after", "2026-11-20T09:30:00Z\n"),
        ("added_after", "\u0662\u0660\u0662\u0666-11-20T09:30:00Z"),
        ("revoked", "true\x00"),
        ("limit", "²"),
        ("limit", "1" * 20),
        ("next", huge_cursor()),
        ("next", cursor_encode(1) + "\x00"),
        ("type", "x" * 4097),
    ],
)
def test_it_refuses_a_malformed_list_parameter_naming_it(
    lab_client: APIClient, parameter: str, value: str
) -> None:
    response = lab_client.get(URL, {parameter: value})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == ENVELOPE and body["description"].startswith(f"{parameter}: ")


def test_it_refuses_nul_in_via_and_publishes_nothing(lab_client: APIClient, lab_a: Member) -> None:
    before = StixObject.objects.count()
    attack = samples.attack_pattern(lab_a.identity_id)
    response = lab_client.post(
        f"{URL}?via=forum%00", json.dumps([attack]), content_type="application/json"
    )
    assert response.status_code == 400
    assert json.loads(response.content)["description"].startswith("via: ")
    assert StixObject.objects.count() == before


@pytest.mark.parametrize(
    "url",
    [
        f"{URL}indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01%00/",
        "/api/v1/members/identity--a11ce000-0000-4000-8000-000000000001%00/jwks.json",
    ],
)
def test_it_answers_404_to_an_id_holding_nul_in_the_path(lab_client: APIClient, url: str) -> None:
    response = lab_client.get(url)
    assert response.status_code == 404
    assert set(json.loads(response.content)) == ENVELOPE


def test_it_still_reads_an_object_by_id(lab_client: APIClient) -> None:
    response = lab_client.get(f"{URL}indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01/")
    assert response.status_code == 200
    assert len(json.loads(response.content)["versions"]) == 1


@pytest.mark.parametrize("value", ["\ud800", "a\udfff", "\x7f", "\t"])
def test_it_refuses_a_lone_surrogate_or_control_character(value: str) -> None:
    """No URL decodes to a lone surrogate (Django replaces invalid UTF-8), so this is checked
    on the reader itself."""
    with pytest.raises(ValidationError) as refused:
        value_check("match[id]", value)
    assert "match[id]" in str(refused.value.detail)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), ("0001", 1), (str(NUMBER_MAX), NUMBER_MAX)]
)
def test_it_reads_ascii_numbers_within_the_bound(value: str, expected: int) -> None:
    assert natural_parse(value, name="limit", minimum=1) == expected


@pytest.mark.parametrize("value", ["", "0", str(NUMBER_MAX + 1), "²", "\uff11", "1 ", "+1"])
def test_it_refuses_other_numbers(value: str) -> None:
    with pytest.raises(ValidationError):
        natural_parse(value, name="limit", minimum=1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 100), ("limit=", 100), ("limit=7", 7), ("limit=1000", 1000), ("limit=1001", 1000)],
)
def test_it_reads_limit_within_the_maximum(query: str, expected: int) -> None:
    assert limit_query(QueryDict(query), default=100, maximum=1000) == expected


def test_it_lowers_the_default_limit_to_the_maximum() -> None:
    assert limit_query(QueryDict(""), default=5000, maximum=1000) == 1000


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=ten", "limit=%C2%B2"])
def test_it_refuses_a_limit_below_one_or_not_in_ascii_digits(query: str) -> None:
    with pytest.raises(ValidationError) as refused:
        limit_query(QueryDict(query), default=100, maximum=1000)
    assert "limit" in str(refused.value.detail)


def test_it_reads_added_after_as_an_instant() -> None:
    assert added_after_query(QueryDict("")) is None
    read = added_after_query(QueryDict("added_after=2026-11-20T09:30:00.1234567Z"))
    assert read is not None and read.isoformat() == "2026-11-20T09:30:00.123456+00:00"


@pytest.mark.parametrize("value", ["2026-11-20", "2026-11-20T09:30:00%2B00:00", "yesterday"])
def test_it_refuses_an_added_after_that_is_not_a_stix_timestamp(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        added_after_query(QueryDict(f"added_after={value}"))
    assert "added_after" in str(refused.value.detail)
