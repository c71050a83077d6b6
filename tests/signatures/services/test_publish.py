"""Who owns a stored object, attacked over HTTP (docs/sharing-policy.md, "Ownership").

Each test replays a probe an ordinary lab could make with its own token against the live
server: copying another member's stored version into a collection it writes, re-posting it
under its own name, reading existence out of refusals. The rule under test: no member can
make the exchange serve, anywhere, a version it could not already read there, nor attach its
post to another member's stored row.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.db import connection
from django.db import connections as db_connections

from members.models import Member
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk.constants import (
    DISTRIBUTION_EXTENSION_ID,
    SIGNING_EXTENSION_ID,
    TLP2_AMBER,
    TLP2_RED,
)
from signatures.sdk.profile import deterministic_id
from signatures.services import collection_create, collection_objects_add
from tests.factories import token_for
from tests.stix_samples import ip_range_indicator

TAXII = "application/taxii+json;version=2.1"
ADDRESS = "192.0.2.77"
#: STIX 2.1 section 2.9: an SCO's id is derived from its value, so every lab computes this one.
ADDRESS_ID = deterministic_id("ipv4-addr", {"value": ADDRESS}, ["value"])


class Lab:
    """One member speaking to the live server with its own bearer token."""

    def __init__(self, base: str, member: Member) -> None:
        self.base = base
        self.member = member
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token_for(member)}"

    def taxii_post(self, collection: Collection, *objects: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base}/{collection.api_root}/collections/{collection.id}/objects/",
            json={"objects": list(objects)},
            headers={"Content-Type": TAXII, "Accept": TAXII},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        return status

    def rest_post(self, *objects: dict[str, Any], via: str = "") -> dict[str, Any]:
        response = self.session.post(
            f"{self.base}/api/v1/objects/" + (f"?via={via}" if via else ""),
            json=list(objects),
            timeout=30,
        )
        assert response.status_code in {200, 207, 422}, response.text
        report: dict[str, Any] = response.json()
        return report

    def served(self, collection: Collection) -> list[dict[str, Any]]:
        response = self.session.get(
            f"{self.base}/{collection.api_root}/collections/{collection.id}/objects/",
            headers={"Accept": TAXII},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        objects: list[dict[str, Any]] = response.json().get("objects", [])
        return objects


@pytest.fixture
def lab(live_server: Any) -> Iterator[Callable[[Member], Lab]]:
    labs: list[Lab] = []

    def make(member: Member) -> Lab:
        labs.append(Lab(str(live_server.url), member))
        return labs[-1]

    yield make
    for each in labs:
        each.session.close()


@pytest.fixture
def private_a(lab_a: Member) -> Collection:
    """A collection only lab A reads and writes."""
    return collection_create(title="Lab A only", readers=[lab_a], writers=[lab_a])


@pytest.fixture
def partner_feed(lab_b: Member, partner: Member) -> Collection:
    """A collection the partner reads and lab B writes."""
    return collection_create(title="To partners", readers=[lab_b, partner], writers=[lab_b])


def signees(obj: dict[str, Any]) -> set[str]:
    signatures = obj.get("extensions", {}).get(SIGNING_EXTENSION_ID, {}).get("signatures", [])
    return {signature["signee"] for signature in signatures}


def failure_messages(status: dict[str, Any]) -> list[str]:
    return [failure.get("message", "") for failure in status.get("failures", [])]


def test_it_keeps_each_publishers_copy_of_an_sco(
    lab: Callable[[Member], Lab],
    lab_a: Member,
    lab_b: Member,
    partner: Member,
    private_a: Collection,
    partner_feed: Collection,
) -> None:
    secret = {"type": "ipv4-addr", "id": ADDRESS_ID, "value": ADDRESS, "x_a_case": "internal"}
    assert lab(lab_a).taxii_post(private_a, secret)["success_count"] == 1

    bare = {"type": "ipv4-addr", "id": ADDRESS_ID, "value": ADDRESS}
    status = lab(lab_b).taxii_post(partner_feed, bare)

    assert status["success_count"] == 1
    (served,) = lab(partner).served(partner_feed)
    assert "x_a_case" not in served
    assert signees(served) == {lab_b.identity_id}
    # Lab A's copy is untouched and still only in its own collection.
    (own,) = lab(lab_a).served(private_a)
    assert own["x_a_case"] == "internal" and signees(own) == {lab_a.identity_id}
    assert StixObject.objects.filter(stix_id=ADDRESS_ID).count() == 2


def test_it_answers_present_only_for_the_callers_own_copy(
    lab: Callable[[Member], Lab], lab_a: Member, lab_b: Member, feed_shared: Collection
) -> None:
    sco = {"type": "ipv4-addr", "id": ADDRESS_ID, "value": ADDRESS}
    lab(lab_a).taxii_post(feed_shared, sco)

    first = lab(lab_b).taxii_post(feed_shared, sco)
    again = lab(lab_b).taxii_post(feed_shared, sco)

    assert first["success_count"] == 1 and "already" not in str(first)
    assert again["success_count"] == 1
    assert again["successes"][0].get("message") == "this version is already stored"
    assert CollectionEntry.objects.filter(collection=feed_shared, stix_id=ADDRESS_ID).count() == 2


@pytest.fixture
def feed_shared(lab_a: Member, lab_b: Member) -> Collection:
    return collection_create(title="Shared", readers=[lab_a, lab_b], writers=[lab_a, lab_b])


def test_it_refuses_an_sdo_reposted_under_another_creator(
    lab: Callable[[Member], Lab],
    lab_a: Member,
    lab_b: Member,
    partner: Member,
    feed_shared: Collection,
    partner_feed: Collection,
) -> None:
    original = ip_range_indicator(lab_a.identity_id, object_marking_refs=[TLP2_AMBER])
    lab(lab_a).taxii_post(feed_shared, original)

    stolen = {**original, "created_by_ref": lab_b.identity_id}
    stolen.pop("extensions", None)
    status = lab(lab_b).taxii_post(partner_feed, stolen)

    assert status["failure_count"] == 1 and status["success_count"] == 0
    # Lab B may read the original, so it is told whose it is.
    assert lab_a.identity_id in failure_messages(status)[0]
    assert lab(partner).served(partner_feed) == []


def test_it_refuses_a_newer_version_or_revocation_by_another_member(
    lab: Callable[[Member], Lab], lab_a: Member, lab_b: Member, feed_shared: Collection
) -> None:
    original = ip_range_indicator(lab_a.identity_id)
    lab(lab_a).taxii_post(feed_shared, original)
    later = "2026-12-01T00:00:00.000Z"
    for change in ({"name": "HIJACKED"}, {"revoked": True}):
        hijack = {**original, **change, "modified": later, "created_by_ref": lab_b.identity_id}
        status = lab(lab_b).taxii_post(feed_shared, hijack)
        assert status["failure_count"] == 1, change

    (served,) = lab(lab_b).served(feed_shared)
    assert served["name"] == original["name"] and not served.get("revoked")


def red(creator: str, n: int) -> dict[str, Any]:
    return ip_range_indicator(
        creator,
        id=f"indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a{n:02d}",
        object_marking_refs=[TLP2_RED],
        extensions={
            DISTRIBUTION_EXTENSION_ID: {"extension_type": "property-extension", "recipients": []}
        },
    )


def test_it_says_nothing_about_an_id_the_caller_cannot_read(
    lab: Callable[[Member], Lab],
    lab_a: Member,
    lab_b: Member,
    private_a: Collection,
    feed_shared: Collection,
) -> None:
    in_private = ip_range_indicator(
        lab_a.identity_id, id="indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a10"
    )
    lab(lab_a).taxii_post(private_a, in_private)
    red_in_shared = red(lab_a.identity_id, 11)
    lab(lab_a).taxii_post(feed_shared, red_in_shared)
    anonymised = red(lab_a.identity_id, 12)
    report = lab(lab_a).rest_post(anonymised, via="forum")
    assert report["accepted"] == 1, report

    messages = []
    for target in (in_private, red_in_shared, anonymised):
        probe = {**target, "created_by_ref": lab_b.identity_id}
        probe.pop("extensions", None)
        status = lab(lab_b).taxii_post(feed_shared, probe)
        (message,) = failure_messages(status)
        messages.append(message.replace(target["id"], "<id>"))

    assert len(set(messages)) == 1, messages
    for word in (lab_a.identity_id, "anonym", "Forum", "already", "created by"):
        assert word not in messages[0]


def test_it_never_releases_a_version_the_curator_cannot_read(
    lab: Callable[[Member], Lab],
    forum: Member,
    lab_a: Member,
    partner: Member,
    feed_shared: Collection,
) -> None:
    lab(lab_a).taxii_post(feed_shared, red(lab_a.identity_id, 20))
    partners = collection_create(title="Partners", readers=[partner], writers=[forum])

    added = collection_objects_add(
        member=forum, collection=partners, stix_ids=[red(lab_a.identity_id, 20)["id"]]
    )

    assert added == []
    assert lab(partner).served(partners) == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writer at a time anyway"
)
def test_it_keeps_date_added_in_commit_order_for_parallel_publishers(
    lab: Callable[[Member], Lab], lab_a: Member, lab_b: Member, feed_shared: Collection
) -> None:
    """Publishers into one collection store their versions in parallel and take the
    collection's lock only to add them (publish.py ``_store``). A TAXII reader paging by
    ``added_after`` must still never skip an entry: every entry's date_added is later than
    those of every entry committed before it. A poller reads as such a client would, while
    two labs publish at once; it must end up with every entry."""
    publishers = [lab(lab_a), lab(lab_b)]
    done = threading.Event()
    seen: list[str] = []

    def poll() -> None:
        cursor = None
        try:
            while True:
                finished = done.is_set()
                entries = CollectionEntry.objects.filter(collection=feed_shared)
                if cursor is not None:
                    entries = entries.filter(date_added__gt=cursor)
                for stix_id, date_added in entries.order_by("date_added").values_list(
                    "stix_id", "date_added"
                ):
                    seen.append(stix_id)
                    cursor = date_added
                if finished:
                    return
        finally:
            db_connections.close_all()

    def publish(each: Lab) -> None:
        for round_number in range(8):
            batch = [
                ip_range_indicator(
                    each.member.identity_id,
                    id=f"indicator--{uuid.uuid4()}",
                    name=f"round {round_number} item {n}",
                )
                for n in range(40)
            ]
            status = each.taxii_post(feed_shared, *batch)
            assert status["success_count"] == 40, status

    poller = threading.Thread(target=poll)
    poller.start()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(publish, publishers))
    done.set()
    poller.join(timeout=60)
    stored = set(
        CollectionEntry.objects.filter(collection=feed_shared).values_list("stix_id", flat=True)
    )
    assert len(stored) == 2 * 8 * 40
    assert sorted(seen) == sorted(stored)
