"""exchange/taxii/status.py: Get Status (TAXII 2.1 section 4.3), for the request's owner only."""

from __future__ import annotations

from collections.abc import Callable

from django.test import override_settings

from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import (
    TAXII,
    Taxii,
    assert_taxii_error,
    collection_url,
    indicator,
)


def test_it_shows_a_status_to_its_owner_only(
    lab: Taxii, taxii_for: Callable[..., Taxii], lab_a: Member, lab_b: Member, shared: Collection
) -> None:
    status = lab.post(
        collection_url(shared, "objects/"), {"objects": [indicator(lab_a.identity_id, 1)]}
    ).json()
    assert_taxii_error(taxii_for(lab_b).get(f"/feed/status/{status['id']}/"), 404)
    assert_taxii_error(lab.get("/feed/status/6b1f1a53-0000-4000-8000-000000000000/"), 404)
    assert_taxii_error(lab.get("/feed/status/not-a-uuid/"), 404)
    assert lab.get(f"/feed/status/{status['id']}").status_code == 200


def test_it_answers_the_status_as_the_add_objects_request_did(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    posted = lab.post(
        collection_url(shared, "objects/"), {"objects": [indicator(lab_a.identity_id, 1)]}
    )
    response = lab.get(f"/feed/status/{posted.json()['id']}/")
    assert response.status_code == 200 and response["Content-Type"] == TAXII
    assert response.json() == posted.json()


@override_settings(TAXII_API_ROOTS=["feed", "labs"])
def test_it_serves_a_status_under_the_api_root_of_its_request_only(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    status = lab.post(
        collection_url(shared, "objects/"), {"objects": [indicator(lab_a.identity_id, 1)]}
    ).json()
    assert lab.get(f"/feed/status/{status['id']}/").status_code == 200
    assert_taxii_error(lab.get(f"/labs/status/{status['id']}/"), 404)
