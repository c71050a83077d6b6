"""exchange/taxii/versions.py: Get Object Versions (TAXII 2.1 section 5.8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from members.models import Member
from signatures.models import Collection
from signatures.services import collection_create
from tests.exchange.taxii.conftest import (
    DATE_ADDED,
    TAXII,
    V1,
    V2,
    V3,
    Taxii,
    assert_taxii_error,
    collection_url,
    indicator,
    publish,
)


def test_it_lists_object_versions_as_sent(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/versions/")
    response = lab.get(url)
    assert response.status_code == 200 and response["Content-Type"] == TAXII
    # date_added order: V3 was added first.
    assert response.json() == {"more": False, "versions": [V3, V1, V2]}
    assert DATE_ADDED.match(response["X-TAXII-Date-Added-Last"])
    page = lab.get(url, limit=2).json()
    assert page["versions"] == [V3, V1] and page["more"] is True
    assert lab.get(url, limit=2, next=page["next"]).json()["versions"] == [V2]
    assert lab.get(url, **{"match[spec_version]": "2.0"}).json() == {"more": False}


def test_it_versions_an_unversioned_object_by_date_added(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    address = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--1f0f8d8e-6d3b-5a7c-9e2f-0a1b2c3d4e05",
        "value": "203.0.113.0/24",
    }
    publish(lab_a, shared, address)
    response = lab.get(collection_url(shared, f"objects/{address['id']}/versions/"))
    (version,) = response.json()["versions"]
    assert DATE_ADDED.match(version)
    assert version == response["X-TAXII-Date-Added-First"]


def test_it_takes_added_after_but_not_match_version(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/versions/")
    first_added = lab.get(url, limit=1)["X-TAXII-Date-Added-First"]
    assert lab.get(url, added_after=first_added).json()["versions"] == [V1, V2]
    # Section 5.8 lists no match[version]: every version is listed whatever it says.
    assert lab.get(url, **{"match[version]": "last"}).json()["versions"] == [V3, V1, V2]


def test_it_answers_404_for_an_object_not_in_the_collection(
    taxii_for: Callable[..., Taxii], lab_a: Member, lab_b: Member, shared: Collection
) -> None:
    private = collection_create(title="Lab A only", readers=[lab_a], writers=[lab_a])
    publish(lab_a, private, indicator(lab_a.identity_id, 1))
    in_private = f"objects/{indicator('', 1)['id']}/versions/"
    assert taxii_for(lab_a).get(collection_url(private, in_private)).status_code == 200
    assert_taxii_error(taxii_for(lab_a).get(collection_url(shared, in_private)), 404)
    assert_taxii_error(taxii_for(lab_b).get(collection_url(private, in_private)), 404)
