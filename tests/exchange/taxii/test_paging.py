"""Keyset paging: exactly once while others publish, constant cost, cursors that last."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Member
from signatures.models import Collection, CollectionEntry
from tests.exchange.taxii.conftest import Taxii, collection_url, indicator, publish


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
