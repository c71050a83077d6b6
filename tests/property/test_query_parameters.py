"""No query string makes a read answer 5xx, and a refused one is the error envelope.

Hostile values for every TAXII filter and paging parameter (and the REST list's), repeated
and combined, against Get Objects, Get Object Manifests, Get An Object, Get Object Versions
and GET /api/v1/objects/. Reads write nothing, whatever they are sent.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from exchange.api.cursors import cursor_encode
from exchange.taxii.media import TAXII_MEDIA_TYPE
from members.models import Member
from signatures.models import Collection, CollectionEntry, StixObject
from tests.exchange.taxii.conftest import Taxii, collection_url, indicator, publish
from tests.property.conftest import (
    ANY_CHAR,
    BOUNDED,
    CURSORS,
    HOSTILE_TEXT,
    READS,
    assert_answered,
    query_string,
)

OBJECT_ID = "indicator--00000000-0000-4000-8000-000000000001"

TAXII_PARAMETERS = [
    "match[id]",
    "match[type]",
    "match[version]",
    "match[spec_version]",
    "added_after",
    "limit",
    "next",
]
REST_PARAMETERS = ["type", "created_by_ref", "added_after", "revoked", "limit", "next"]

PLAUSIBLE = st.sampled_from(
    [
        OBJECT_ID,
        "indicator",
        "2.1",
        "last",
        "first",
        "all",
        "true",
        "false",
        "1",
        "2",
        "1000",
        "999999999",
        "2026-11-20T09:30:00.123Z",
        "2026-11-20T09:30:00Z",
        cursor_encode(1, 1),
    ]
)
#: Numbers in a mix of scripts: str.isdigit() holds for all of them, int() for some.
DIGITISH = st.text(
    st.sampled_from("0123456789\u00b2\u00b9\u0660\u0663\u0966\uff11-+ e\x00"), min_size=1
)
VALUES = st.one_of(
    PLAUSIBLE,
    HOSTILE_TEXT,
    DIGITISH,
    CURSORS,
    st.text(ANY_CHAR, max_size=40),
    st.integers().map(str),
    st.lists(st.one_of(PLAUSIBLE, HOSTILE_TEXT), min_size=2, max_size=5).map(",".join),
)


def queries(names: list[str]) -> st.SearchStrategy[str]:
    """A query string with any of ``names`` once, then up to 4 of them again."""
    once = st.fixed_dictionaries({}, optional=dict.fromkeys(names, VALUES))
    again = st.lists(st.tuples(st.sampled_from(names), VALUES), max_size=4)
    return st.tuples(once, again).map(lambda pair: query_string([*pair[0].items(), *pair[1]]))


@pytest.fixture
def lab(taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection) -> Taxii:
    publish(
        lab_a,
        shared,
        indicator(lab_a.identity_id, 1),
        indicator(lab_a.identity_id, 1, modified="2026-11-21T09:30:00.123Z"),
        indicator(lab_a.identity_id, 2),
    )
    return taxii_for(lab_a)


def stored() -> tuple[int, int]:
    return StixObject.objects.count(), CollectionEntry.objects.count()


@pytest.mark.parametrize(
    "suffix", ["objects/", "manifest/", f"objects/{OBJECT_ID}/", f"objects/{OBJECT_ID}/versions/"]
)
def test_it_never_answers_a_taxii_read_with_5xx(
    lab: Taxii, shared: Collection, suffix: str
) -> None:
    url = collection_url(shared, suffix)
    before = stored()

    @READS
    @given(query=queries(TAXII_PARAMETERS))
    def read(query: str) -> None:
        response = lab.client.get(f"{url}?{query}", HTTP_ACCEPT=TAXII_MEDIA_TYPE)
        assert_answered(response, TAXII_MEDIA_TYPE)

    read()
    assert stored() == before


def test_it_never_answers_the_rest_list_with_5xx(
    lab: Taxii, lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(lab_a)
    before = stored()

    @READS
    @given(query=queries(REST_PARAMETERS))
    def read(query: str) -> None:
        assert_answered(client.get(f"/api/v1/objects/?{query}"), "application/json")

    read()
    assert stored() == before


@BOUNDED
@given(object_id=st.text(ANY_CHAR, min_size=1, max_size=60))
def test_it_never_answers_a_hostile_object_id_with_5xx(
    lab: Taxii, shared: Collection, client_for: Callable[..., APIClient], object_id: str
) -> None:
    segment = query_string([("", object_id)])[1:]
    taxii = lab.client.get(
        collection_url(shared, f"objects/{segment}/"), HTTP_ACCEPT=TAXII_MEDIA_TYPE
    )
    assert_answered(taxii, TAXII_MEDIA_TYPE)
    for url in (f"/api/v1/objects/{segment}/", f"/api/v1/members/{segment}/jwks.json"):
        response = lab.client.get(url)
        assert response.status_code < 500, (url, response.content)
