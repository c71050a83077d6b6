"""exchange/fanout/channels.py: what a receiver's answer means for the delivery, the bodies
sent, and TAXII push, where a real worker adds objects to a second live TAXII 2.1 server
(this exchange, served by pytest-django's live_server) with taxii2-client's
Collection.add_objects."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from exchange.fanout import channels
from exchange.fanout.services import subscription_create
from members.models import Member
from members.selectors import member_jwks
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk import jss
from signatures.selectors import collection_default
from tests.exchange.fanout.conftest import Worker, indicators, publish, wait_until
from tests.factories import token_for

TAXII = "application/taxii+json;version=2.1"


@pytest.mark.parametrize(
    ("status_code", "ok", "retryable"),
    [(200, True, False), (202, True, False), (400, False, False), (404, False, False),
     (422, False, False), (429, False, True), (500, False, True), (503, False, True)],
)  # fmt: skip
def test_it_retries_only_throttling_and_server_errors(
    status_code: int, ok: bool, retryable: bool
) -> None:
    result = channels.result_of_status(status_code, "7")
    assert (result.ok, result.retryable, result.status_code) == (ok, retryable, status_code)
    assert result.retry_after == (7.0 if retryable else None)
    assert result.error == ("" if ok else f"HTTP {status_code}")


def test_it_reads_retry_after_as_seconds_or_an_http_date() -> None:
    assert channels.retry_after_parse("120") == 120.0
    assert channels.retry_after_parse(" 5 ") == 5.0
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    assert 590 <= (channels.retry_after_parse(soon) or 0) <= 600
    past = email.utils.format_datetime(datetime(2001, 1, 1, tzinfo=UTC), usegmt=True)
    assert channels.retry_after_parse(past) == 0.0
    assert channels.retry_after_parse("soon") is None
    # Unicode digits ('²', Arabic-Indic three) are not delta-seconds, nor a date.
    assert channels.retry_after_parse("\u00b2") is None
    assert channels.retry_after_parse("\u0663\u0660") is None
    assert channels.retry_after_parse("") is None and channels.retry_after_parse(None) is None


def test_it_embeds_stored_objects_verbatim_in_bundles_and_envelopes() -> None:
    raws = ['{"type":"x-a","id":"x-a--1","n":1.50}', '{"id":"x-b--2","type":"x-b"}']
    bundle = channels.bundle_body("5e0c2b1e-0000-4000-8000-000000000001", raws)
    assert bundle == (
        b'{"type":"bundle","id":"bundle--5e0c2b1e-0000-4000-8000-000000000001",'
        b'"objects":[' + ",".join(raws).encode() + b"]}"
    )
    envelope = channels.envelope_body(raws)
    assert envelope == b'{"more":false,"objects":[' + ",".join(raws).encode() + b"]}"


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
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
