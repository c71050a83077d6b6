"""TAXII push: a real worker adds objects to a second live TAXII 2.1 server (this exchange,
served by pytest-django's live_server) with taxii2-client's Collection.add_objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from exchange.fanout.services import subscription_create
from members.models import Member
from members.selectors import member_jwks
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk import jss
from signatures.selectors import collection_default
from tests.exchange.fanout.conftest import Worker, indicators, publish, wait_until
from tests.factories import token_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.live]
TAXII = "application/taxii+json;version=2.1"


def test_it_pushes_objects_verbatim_to_a_remote_taxii_collection(
    lab_a: Member,
    lab_b: Member,
    live_server: Any,
    start_worker: Callable[..., Worker],
) -> None:
    """Proves: every object lab B may read reaches the remote collection, stored there as the
    exact text published (its member signature still verifies), and nothing else does."""
    # The remote server accepts objects only from their creator: the push logs in as lab A.
    target = Collection.objects.create(title="Lab B mirror", api_root="feed")
    target.readers.add(lab_a, lab_b)
    target.writers.add(lab_a)
    token = token_for(lab_a, "read", "publish")
    url = f"{live_server.url}/feed/collections/{target.id}/"
    subscription_create(
        owner=lab_b,
        name="push to inbox",
        channel="taxii",
        url=url,
        taxii_user=lab_a.name,
        taxii_password=token,
        collections=[collection_default()],
    )
    start_worker()
    green = publish(lab_a, indicators(lab_a, 6))
    red = publish(lab_a, indicators(lab_a, 2, tlp="red"))

    def pushed() -> set[str]:
        rows = CollectionEntry.objects.filter(collection=target, stix_id__in=green + red)
        return set(rows.values_list("stix_id", flat=True))

    wait_until(lambda: pushed() == set(green), "the push to the remote collection")
    response = requests.get(
        f"{url}objects/", headers={"Accept": TAXII}, auth=(lab_a.name, token), timeout=10
    )
    assert response.status_code == 200
    verifier = jss.Verifier(member_jwks(lab_a))
    served = {obj["id"]: obj for obj in response.json()["objects"]}
    for stix_id in green:
        assert StixObject.objects.get(stix_id=stix_id).raw.encode() in response.content
        assert verifier.verify(served[stix_id]).valid
    assert not set(red) & set(served)
    print(f"\nfan-out counts: TAXII push published={len(green) + len(red)} "
          f"entitled={len(green)} delivered={len(pushed())} forbidden=0 lost=0")  # fmt: skip
