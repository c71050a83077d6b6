"""A real TAXII 2.1 client (taxii2-client) against the exchange served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from taxii2client.v21 import Server, as_pages

from members.models import Member
from signatures.models import Collection
from signatures.object_signing import without_signatures
from tests.exchange.taxii.conftest import indicator
from tests.factories import token_for

# serialized_rollback: the default collection comes from a data migration, which a
# transactional test's flush would otherwise remove for the tests after it.
pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PRECISE = [
    "2026-11-20T09:30:00.123Z",
    "2026-11-21T09:30:00.1234567Z",
    "2026-11-22T09:30:00.12345678Z",
    "2026-11-23T09:30:00.123456789Z",
]


@pytest.fixture
def live(live_server: Any, settings: Any) -> str:
    # Discovery advertises API roots under SITE_URL; here that is the test server.
    settings.SITE_URL = live_server.url
    return str(live_server.url)


@pytest.fixture
def connect(live: str) -> Iterator[Callable[[Member], Server]]:
    """taxii2-client Servers, closed at the end so no keep-alive connection outlives the test."""
    servers: list[Server] = []

    def make(member: Member) -> Server:
        servers.append(Server(f"{live}/taxii2/", user=member.name, password=token_for(member)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_it_round_trips_through_taxii2_client(
    connect: Callable[[Member], Server], lab_a: Member, shared: Collection
) -> None:
    server = connect(lab_a)
    api_root = server.default
    assert api_root is not None and api_root.max_content_length > 0
    collection = next(c for c in api_root.collections if c.id == str(shared.id))
    assert collection.can_read and collection.can_write

    sent = [indicator(lab_a.identity_id, n, modified=PRECISE[n % 4]) for n in range(7)]
    versions = [indicator(lab_a.identity_id, 0, modified=m) for m in PRECISE[1:]]
    status = collection.add_objects({"objects": sent + versions})
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (10, 10, 0)
    assert status.pending_count == 0

    served: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_objects, per_request=3):
        served += envelope.get("objects", [])
    latest = [sent[n] for n in range(1, 7)] + [versions[-1]]
    # Equal as JSON values (no property dropped, renamed or reformatted, every timestamp
    # digit kept); the exchange adds only its signature to objects sent unsigned.
    assert [without_signatures(obj) for obj in served] == latest
    assert all("extensions" in obj for obj in served)

    one = collection.get_object(sent[3]["id"])
    assert [without_signatures(o) for o in one["objects"]] == [sent[3]]
    everything = collection.get_object(sent[0]["id"], version="all")
    assert sorted(o["modified"] for o in everything["objects"]) == PRECISE

    history = collection.object_versions(sent[0]["id"])
    assert history["versions"] == PRECISE

    manifest: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_manifest, per_request=4, version="all"):
        manifest += envelope.get("objects", [])
    assert len(manifest) == 10
    assert {r["version"] for r in manifest if r["id"] == sent[0]["id"]} == set(PRECISE)

    again = api_root.get_status(status.id)
    assert again.id == status.id and again.status == "complete"

    collection.delete_object(sent[0]["id"], version=PRECISE[-1])
    assert collection.get_object(sent[0]["id"])["objects"][0]["modified"] == PRECISE[-2]


def test_it_pages_exactly_once_while_another_client_publishes(
    connect: Callable[[Member], Server], lab_a: Member, lab_b: Member, shared: Collection
) -> None:
    reader = connect(lab_a)
    collection = next(c for c in reader.default.collections if c.id == str(shared.id))
    collection.add_objects({"objects": [indicator(lab_a.identity_id, n) for n in range(9)]})
    publisher = next(c for c in connect(lab_b).default.collections if c.id == str(shared.id))

    seen: list[str] = []
    added: list[str] = []
    for envelope in as_pages(collection.get_objects, per_request=4):
        seen += [obj["id"] for obj in envelope.get("objects", [])]
        if envelope["more"]:
            new = indicator(lab_b.identity_id, 200 + len(added))
            assert publisher.add_objects({"objects": [new]}).success_count == 1
            added.append(new["id"])
    assert len(added) >= 2
    assert sorted(seen) == sorted([indicator("", n)["id"] for n in range(9)] + added)
    assert len(seen) == len(set(seen))
