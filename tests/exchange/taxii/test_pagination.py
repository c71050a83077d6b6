"""exchange/taxii/pagination.py: keyset paging (TAXII 2.1 section 3.5), exactly once while
others publish, at constant cost, with cursors that last, and pages capped in bytes as well
as in objects (fewer than ``limit``, with ``more``/``next``), read in bounded chunks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exchange.api.pagination import FIRST_CHUNK_ROWS
from members.models import Member
from signatures.models import Collection, CollectionEntry
from tests.exchange.taxii.conftest import Taxii, body, collection_url, indicator, publish


def fetch(taxii: Taxii, url: str, **params: Any) -> dict[str, Any]:
    """One page of a TAXII GET, as the envelope it decodes to."""
    envelope: dict[str, Any] = json.loads(taxii.get(url, **params).content)
    return envelope


def keys(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(obj["id"], obj["modified"]) for obj in page.get("objects", [])]


def test_it_serves_every_version_exactly_once_while_others_publish(
    taxii_for: Callable[..., Taxii], lab_a: Member, lab_b: Member, shared: Collection
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(6)])
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    params = {"match[version]": "all", "limit": 3}
    page = fetch(taxii, url, **params)
    seen = keys(page)
    extra = 0
    while page["more"]:
        # Between two page fetches another member publishes a new object, and lab-a a new
        # version of an object it may or may not have been served yet.
        publish(lab_b, shared, indicator(lab_b.identity_id, 100 + extra))
        newer = f"2026-11-21T00:00:00.{extra:03d}Z"
        publish(lab_a, shared, indicator(lab_a.identity_id, extra % 6, modified=newer))
        extra += 1
        page = fetch(taxii, url, next=page["next"], **params)
        seen += keys(page)
    stored = {
        (entry.stix_id, entry.stix_object.data["modified"])
        for entry in CollectionEntry.objects.filter(collection=shared).select_related("stix_object")
    }
    assert extra >= 2
    assert len(seen) == len(set(seen)), "an entry was served twice"
    assert set(seen) == stored, "an entry was never served"


def test_it_serves_the_latest_of_every_object_while_others_publish(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(6)])
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    page = fetch(taxii, url, limit=2)
    seen = keys(page)
    # A new version of an object already served, and of one not served yet.
    newer = "2026-11-21T00:00:00.000Z"
    publish(lab_a, shared, indicator(lab_a.identity_id, 0, modified=newer))
    publish(lab_a, shared, indicator(lab_a.identity_id, 5, modified=newer))
    while page["more"]:
        page = fetch(taxii, url, limit=2, next=page["next"])
        seen += keys(page)
    ids = [stix_id for stix_id, _ in seen]
    assert set(ids) == {indicator("", n)["id"] for n in range(6)}
    # Object 0 was served before its new version, then again at the new version; object 5
    # only at its new version, never at the one that stopped being the latest.
    assert ids.count(indicator("", 0)["id"]) == 2
    assert [m for i, m in seen if i == indicator("", 5)["id"]] == [newer]


def test_it_keeps_a_cursor_valid_after_more_publishing(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(3)])
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    cursor = fetch(taxii, url, limit=3)
    assert cursor["more"] is False
    first = fetch(taxii, url, limit=2)
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(3, 6)])
    rest = fetch(taxii, url, limit=10, next=first["next"])
    assert [o["name"] for o in rest["objects"]] == [f"Egress range {n}" for n in range(2, 6)]


def test_it_costs_the_same_number_of_queries_on_every_page(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(12)])
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    page = fetch(taxii, url, limit=3)
    counts = []
    while page["more"]:
        with CaptureQueriesContext(connection) as queries:
            page = fetch(taxii, url, limit=3, next=page["next"])
        counts.append(len(queries))
        assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
    assert len(set(counts)) == 1, counts


def page_bytes(objects: list[dict[str, Any]]) -> int:
    """The objects' size as stored and served: compact JSON in UTF-8."""
    return sum(
        len(json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode()) for o in objects
    )


def sized(lab: Member, n: int) -> dict[str, Any]:
    """An indicator about 2 kB long, so that a few fill a small page budget."""
    return indicator(lab.identity_id, n, description="x" * 2000)


@pytest.fixture
def filled(lab_a: Member, shared: Collection) -> Collection:
    publish(lab_a, shared, *[sized(lab_a, n) for n in range(12)])
    return shared


def test_it_stops_a_page_at_the_byte_budget_and_continues_with_next(
    filled: Collection, lab_a: Member, taxii_for: Callable[..., Taxii], settings: Any
) -> None:
    settings.MAX_PAGE_BYTES = 5 * 2500
    taxii = taxii_for(lab_a)
    url = collection_url(filled, "objects/")
    served: list[str] = []
    pages = []
    params: dict[str, str] = {"limit": "999999999"}
    while True:
        response = taxii.get(url, **params)
        assert response.status_code == 200
        page = body(response)
        pages.append(len(page["objects"]))
        served += [obj["id"] for obj in page["objects"]]
        assert page_bytes(page["objects"]) <= settings.MAX_PAGE_BYTES
        assert "X-TAXII-Date-Added-First" in response and "X-TAXII-Date-Added-Last" in response
        if not page["more"]:
            assert "next" not in page
            break
        params = {"limit": "999999999", "next": page["next"]}
    assert all(n < 12 for n in pages) and len(pages) > 2
    assert served == [indicator("", n)["id"] for n in range(12)]


def test_it_serves_one_object_a_page_when_one_alone_is_over_the_budget(
    filled: Collection, lab_a: Member, taxii_for: Callable[..., Taxii], settings: Any
) -> None:
    settings.MAX_PAGE_BYTES = 100
    page = body(taxii_for(lab_a).get(collection_url(filled, "objects/")))
    assert [obj["id"] for obj in page["objects"]] == [indicator("", 0)["id"]]
    assert page["more"] is True and page["next"]


def test_it_reads_a_large_page_in_bounded_chunks(
    lab_a: Member, shared: Collection, taxii_for: Callable[..., Taxii], settings: Any
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(3 * FIRST_CHUNK_ROWS)])
    # More than the first chunk's objects fit: the page takes a second, smaller chunk.
    settings.MAX_PAGE_BYTES = 60_000
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    assert taxii.get(url, limit=1).status_code == 200  # the token's first use is a write
    with CaptureQueriesContext(connection) as queries:
        page = body(taxii.get(url, limit=999999999))
    assert page["more"] is True
    assert FIRST_CHUNK_ROWS < len(page["objects"]) < 3 * FIRST_CHUNK_ROWS
    assert page_bytes(page["objects"]) <= settings.MAX_PAGE_BYTES
    limits = [
        int(match.group(1))
        for query in queries.captured_queries
        if '"signatures_collectionentry"' in query["sql"]
        and (match := re.search(r"LIMIT (\d+)", query["sql"]))
    ]
    # Never the whole collection, nor the 1,001 rows that limit asked for.
    assert len(limits) >= 2 and max(limits) <= FIRST_CHUNK_ROWS
