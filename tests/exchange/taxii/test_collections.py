"""exchange/taxii/collections.py: Get Collections (5.1) and Get A Collection (5.2)."""

from __future__ import annotations

from collections.abc import Callable

from django.test import override_settings

from members.models import Member
from signatures.models import Collection
from signatures.services import collection_create
from tests.exchange.taxii.conftest import (
    TAXII,
    Taxii,
    assert_taxii_error,
    collection_url,
    indicator,
)


def test_it_lists_the_collections_a_member_may_read_or_write(
    taxii_for: Callable[..., Taxii],
    lab_a: Member,
    lab_b: Member,
    partner: Member,
    shared: Collection,
) -> None:
    private = collection_create(title="Lab A only", readers=[lab_a], writers=[lab_a])
    drop_box = collection_create(title="Drop box", readers=[], writers=[lab_a, lab_b])

    def listed(member: Member) -> dict[str, dict]:
        response = taxii_for(member).get("/feed/collections/")
        assert response.status_code == 200 and response["Content-Type"] == TAXII
        return {c["title"]: c for c in response.json()["collections"]}

    mine = listed(lab_a)
    assert {"Shared", "Lab A only", "Drop box", "Distillation signatures"} <= set(mine)
    assert (mine["Shared"]["can_read"], mine["Shared"]["can_write"]) == (True, True)
    assert (mine["Drop box"]["can_read"], mine["Drop box"]["can_write"]) == (False, True)
    assert mine["Shared"]["media_types"] == ["application/stix+json;version=2.1"]
    assert set(mine["Shared"]) >= {"id", "title", "can_read", "can_write", "media_types"}
    assert "Lab A only" not in listed(lab_b)
    theirs = listed(partner)
    assert "Drop box" not in theirs and "Lab A only" not in theirs
    assert (theirs["Shared"]["can_read"], theirs["Shared"]["can_write"]) == (True, False)

    assert taxii_for(lab_a).get(collection_url(private)).json()["title"] == "Lab A only"
    assert_taxii_error(taxii_for(lab_b).get(collection_url(private)), 404)
    assert_taxii_error(taxii_for(lab_b).get(collection_url(private, "objects/")), 404)
    assert_taxii_error(taxii_for(lab_b).get(collection_url(private, "manifest/")), 404)
    # Write-only: the collection exists for its writers, reading it is forbidden.
    assert_taxii_error(taxii_for(lab_b).get(collection_url(drop_box, "objects/")), 403)
    body = {"objects": [indicator(lab_b.identity_id, 1)]}
    assert taxii_for(lab_b).post(collection_url(drop_box, "objects/"), body).status_code == 202


def test_it_answers_404_for_a_malformed_or_unknown_collection_id(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    taxii = taxii_for(lab_a)
    assert_taxii_error(taxii.get("/feed/collections/not-a-uuid/"), 404)
    assert_taxii_error(taxii.get("/feed/collections/6b1f1a53-0000-4000-8000-0000000000aa/"), 404)


@override_settings(TAXII_API_ROOTS=["feed", "labs"])
def test_it_serves_a_collection_under_its_own_api_root_only(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    labs = collection_create(title="Labs", readers=[lab_a], writers=[], api_root="labs")
    assert taxii_for(lab_a).get(f"/labs/collections/{labs.id}/").status_code == 200
    assert_taxii_error(taxii_for(lab_a).get(f"/feed/collections/{labs.id}/"), 404)
