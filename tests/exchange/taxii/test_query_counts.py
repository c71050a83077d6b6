"""Round trips per TAXII read: each query costs a round trip, so their number is a budget.

A poll page (section 5.4) takes, per request: authentication (the token, then its member:
two compiled lookups, cheaper than one join built per request), the collection with the
caller's permissions, the caller's TLP:AMBER+STRICT allowed set (not for the Forum, which
reads all of it), the entries, and the transport signature's key check. A single-object GET
(section 5.6) without parameters reads the allowed set inside its one compiled query. The
budget is the same on every page and for every object, whatever the collection's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pytest_django import DjangoAssertNumQueries

from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import Taxii, collection_url, indicator, publish

#: Per caller kind: the queries of one read (see the module docstring).
BUDGET = {"lab": 6, "partner": 6, "forum": 5}


@pytest.fixture
def caller(request: pytest.FixtureRequest, lab_a: Member, partner: Member, forum: Member) -> Member:
    member: Member = {"lab": lab_a, "partner": partner, "forum": forum}[request.param]
    return member


@pytest.fixture
def filled(lab_a: Member, shared: Collection) -> Collection:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(6)])
    return shared


def warm(taxii: Taxii, collection: Collection) -> None:
    """A first request records the token's first use (a write, at most once a minute)."""
    assert taxii.get(collection_url(collection, "objects/"), limit=1).status_code == 200


@pytest.mark.parametrize("caller", list(BUDGET), indirect=True)
def test_it_gets_one_object_within_the_query_budget(
    caller: Member,
    filled: Collection,
    taxii_for: Callable[..., Taxii],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    taxii = taxii_for(caller)
    warm(taxii, filled)
    url = collection_url(filled, f"objects/{indicator('', 3)['id']}/")
    # Whatever the kind: the token, its member, the collection, the object and the Forum's
    # active key.
    with django_assert_max_num_queries(5):
        response = taxii.get(url)
    assert [o["id"] for o in json.loads(response.content)["objects"]] == [indicator("", 3)["id"]]


@pytest.mark.parametrize("caller", list(BUDGET), indirect=True)
def test_it_serves_a_poll_page_within_the_query_budget(
    caller: Member,
    filled: Collection,
    taxii_for: Callable[..., Taxii],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    taxii = taxii_for(caller)
    warm(taxii, filled)
    url = collection_url(filled, "objects/")
    first = json.loads(taxii.get(url, limit=2).content)
    with django_assert_max_num_queries(BUDGET[caller.kind]):
        response = taxii.get(url, limit=2, next=first["next"], **{"match[type]": "indicator"})
    page = json.loads(response.content)
    assert [o["name"] for o in page["objects"]] == ["Egress range 2", "Egress range 3"]
