"""exchange/taxii/manifest.py: Get Object Manifests (TAXII 2.1 section 5.3)."""

from __future__ import annotations

from typing import Any

from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import (
    DATE_ADDED,
    TAXII,
    V1,
    V3,
    Taxii,
    collection_url,
    indicator,
    publish,
)

ADDRESS = {
    "type": "ipv4-addr",
    "spec_version": "2.1",
    "id": "ipv4-addr--1f0f8d8e-6d3b-5a7c-9e2f-0a1b2c3d4e05",
    "value": "203.0.113.0/24",
}


def test_it_serves_manifests_with_the_same_filters(
    lab: Taxii, lab_a: Member, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 2))
    url = collection_url(shared, "manifest/")
    response = lab.get(url)
    assert response.status_code == 200 and response["Content-Type"] == TAXII
    records = response.json()["objects"]
    assert [(r["id"], r["version"]) for r in records] == [
        (three_versions[0]["id"], V3),
        (indicator(lab_a.identity_id, 2)["id"], V1),
    ]
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in records)
    assert all(DATE_ADDED.match(r["date_added"]) for r in records)
    assert response["X-TAXII-Date-Added-Last"] == records[-1]["date_added"]
    all_versions = lab.get(url, **{"match[version]": "all", "match[type]": "indicator"}).json()
    assert len(all_versions["objects"]) == 4
    page = lab.get(url, limit=1, **{"match[version]": "all"}).json()
    assert page["more"] is True
    rest = lab.get(url, limit=10, next=page["next"], **{"match[version]": "all"}).json()
    assert len(rest["objects"]) == 3
    assert lab.get(url, **{"match[id]": "indicator--nope"}).json() == {"more": False}


def test_it_versions_an_unversioned_object_by_its_date_added(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, ADDRESS)
    (record,) = lab.get(collection_url(shared, "manifest/")).json()["objects"]
    assert record["id"] == ADDRESS["id"]
    assert DATE_ADDED.match(record["version"])
    assert record["version"] == record["date_added"]


def test_it_lists_the_manifest_of_the_objects_get_objects_serves(
    lab: Taxii, lab_a: Member, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 2), ADDRESS)
    for query in ({}, {"match[version]": "all"}, {"match[type]": "ipv4-addr"}, {"limit": "2"}):
        served = lab.get(collection_url(shared, "objects/"), **query).json()
        manifest = lab.get(collection_url(shared, "manifest/"), **query).json()
        assert [r["id"] for r in manifest["objects"]] == [o["id"] for o in served["objects"]]
        assert manifest["more"] == served["more"]
