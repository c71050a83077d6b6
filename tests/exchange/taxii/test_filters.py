"""URL filters and paging parameters read strictly: every malformed value is a 400 naming it.

Each case once answered 500 on PostgreSQL (NUL in text, int() of a superscript digit, a
cursor that overflowed a datetime or a bigint).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from exchange.api.cursors import CURSOR_INT_MAX, cursor_encode
from exchange.api.query import QUERY_VALUE_MAX_LENGTH, QUERY_VALUES_MAX
from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import (
    Taxii,
    assert_taxii_error,
    collection_url,
    indicator,
    publish,
)

OBJECT_ID = "indicator--00000000-0000-4000-8000-000000000001"


def raw_cursor(text: str) -> str:
    """A cursor holding ``text``, encoded as the server encodes its own."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def lab(taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection) -> Taxii:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(1, 4)])
    return taxii_for(lab_a)


def assert_refused(response: Any, parameter: str) -> None:
    body = assert_taxii_error(response, 400)
    assert body["description"].startswith(f"{parameter}: "), body


ENDPOINTS = ["objects/", "manifest/", f"objects/{OBJECT_ID}/", f"objects/{OBJECT_ID}/versions/"]


@pytest.mark.parametrize("suffix", ENDPOINTS)
@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("limit", "²"),  # str.isdigit() is true, int() raises
        ("limit", "٣"),  # an Arabic-Indic three: int() would accept it
        ("limit", "0"),
        ("limit", "1" * 20),
        ("limit", "1\x00"),
        ("added_after", "2026-11-20T09:30:00Z\n"),
        ("added_after", "٢٠٢٦-11-20T09:30:00Z"),
        ("added_after", "2026-11-20T09:30:00\x00Z"),
    ],
)
def test_it_refuses_malformed_limit_and_added_after_on_every_paged_endpoint(
    lab: Taxii, shared: Collection, suffix: str, parameter: str, value: str
) -> None:
    assert_refused(lab.get(collection_url(shared, suffix), **{parameter: value}), parameter)


@pytest.mark.parametrize("suffix", ["objects/", "manifest/"])
@pytest.mark.parametrize("parameter", ["match[id]", "match[type]", "match[spec_version]"])
@pytest.mark.parametrize(
    "value", ["\x00", "indicator\x00", "a,\x00", "x" * (QUERY_VALUE_MAX_LENGTH + 1)]
)
def test_it_refuses_nul_and_overlong_match_values(
    lab: Taxii, shared: Collection, suffix: str, parameter: str, value: str
) -> None:
    assert_refused(lab.get(collection_url(shared, suffix), **{parameter: value}), parameter)


@pytest.mark.parametrize(
    "value", ["2026-11-20T09:30:00.12٣Z", "last\x00", "2026-11-20T09:30:00Z\n"]
)
def test_it_refuses_malformed_match_version(lab: Taxii, shared: Collection, value: str) -> None:
    url = collection_url(shared, f"objects/{OBJECT_ID}/")
    assert_refused(lab.get(url, **{"match[version]": value}), "match[version]")


def match_types(count: int) -> dict[str, list[str]]:
    """``count`` values of match[type]: lists of 100, the parameter repeated."""
    full, rest = divmod(count, 100)
    values = [",".join(["indicator"] * 100)] * full + [",".join(["indicator"] * rest)] * bool(rest)
    return {"match[type]": values}


def test_it_refuses_more_match_values_than_the_bound(lab: Taxii, shared: Collection) -> None:
    url = collection_url(shared, "objects/")
    assert_refused(lab.get(url, **match_types(QUERY_VALUES_MAX + 1)), "match[type]")


def test_it_still_filters_on_the_most_match_values_allowed(lab: Taxii, shared: Collection) -> None:
    response = lab.get(collection_url(shared, "objects/"), **match_types(QUERY_VALUES_MAX))
    assert response.status_code == 200
    assert len(json.loads(response.content)["objects"]) == 3


@pytest.mark.parametrize("suffix", [f"objects/{OBJECT_ID}%00/", "objects/%00/versions/"])
def test_it_answers_404_to_an_object_id_holding_nul(
    lab: Taxii, shared: Collection, suffix: str
) -> None:
    response = lab.client.get(collection_url(shared, suffix), HTTP_ACCEPT="application/taxii+json")
    assert_taxii_error(response, 404)


def test_it_refuses_a_delete_with_nul_in_match_spec_version(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 1))
    taxii = taxii_for(lab_a, "read", "publish")
    url = collection_url(shared, f"objects/{OBJECT_ID}/")
    assert_refused(taxii.delete(url, **{"match[spec_version]": "%00"}), "match[spec_version]")
    assert json.loads(taxii.get(url).content)["objects"][0]["id"] == OBJECT_ID


@pytest.mark.parametrize(
    "cursor",
    [
        raw_cursor(f"{CURSOR_INT_MAX + 1}|1"),  # past year 9999: the datetime overflowed
        raw_cursor(f"1|{2**64}"),  # past a bigint
        raw_cursor("²|1"),
        raw_cursor("\u0661|1"),  # an Arabic-Indic one
        raw_cursor("-1|1"),
        raw_cursor("01|1"),  # a number this server never writes
        raw_cursor("1|1") + "==",
        raw_cursor("1|1|1"),
        "MTIzfDE\x00",
        "é" * 8,
        "A" * 65,
    ],
)
def test_it_refuses_a_next_cursor_it_could_not_have_issued(
    lab: Taxii, shared: Collection, cursor: str
) -> None:
    assert_refused(lab.get(collection_url(shared, "objects/"), next=cursor), "next")


def test_it_accepts_a_cursor_at_the_bound(lab: Taxii, shared: Collection) -> None:
    response = lab.get(collection_url(shared, "objects/"), next=cursor_encode(CURSOR_INT_MAX, 1))
    assert response.status_code == 200
    assert json.loads(response.content) == {"more": False}


def test_it_lowers_a_huge_limit_to_the_page_size(lab: Taxii, shared: Collection) -> None:
    response = lab.get(collection_url(shared, "objects/"), limit="999999999")
    assert response.status_code == 200
    assert len(json.loads(response.content)["objects"]) == 3


def test_it_answers_too_many_parameters_in_the_taxii_envelope(
    lab: Taxii, shared: Collection
) -> None:
    """More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django refuses the request itself."""
    query = "&".join(f"match[id]={n}" for n in range(1001))
    url = collection_url(shared, f"objects/?{query}")
    body = assert_taxii_error(lab.client.get(url, HTTP_ACCEPT="application/taxii+json"), 400)
    assert body["error_code"] == "bad_request"
