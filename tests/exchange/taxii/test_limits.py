"""Limits of the TAXII server (docs/taxii.md, "Limits"), and two section-level fixes.

- pages capped in bytes as well as in objects (section 3.5: fewer than ``limit`` with
  ``more``/``next``), read in bounded chunks; the REST list the same;
- a large Add Objects published by a task, the status ``pending`` until then (section 4.3);
- status details of SCOs carry the version the manifest serves (section 4.3.1);
- DELETE in a collection the caller cannot read answers 404 (section 5.7).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient
from taxii2client.v21 import Server

from exchange.api.pagination import FIRST_CHUNK_ROWS
from exchange.taxii import tasks
from exchange.taxii.models import Status
from members.models import Member
from signatures.models import Collection, CollectionEntry
from signatures.services import collection_create
from tests.exchange.taxii.conftest import TAXII, Taxii, collection_url, indicator, publish
from tests.factories import token_for


def ipv4(n: int) -> dict[str, Any]:
    """An ipv4-addr SCO with its deterministic id (STIX 2.1 section 2.9: UUIDv5 of value)."""
    value = f"192.0.2.{n}"
    namespace = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    object_id = uuid.uuid5(namespace, json.dumps({"value": value}, separators=(",", ":")))
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{object_id}",
        "value": value,
    }


def body(response: Any) -> Any:
    assert response["Content-Type"] == TAXII, response.content
    return json.loads(response.content)


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


# --- Pages capped in bytes (section 3.5) ---------------------------------------------------


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


def test_it_caps_the_rest_list_in_bytes_too(
    filled: Collection, lab_a: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.MAX_PAGE_BYTES = 5 * 2500
    client = client_for(lab_a)
    served: list[str] = []
    params: dict[str, str] = {"limit": "1000", "type": "indicator"}
    while True:
        response = client.get("/api/v1/objects/", params)
        assert response.status_code == 200
        page = json.loads(response.content)
        assert 1 <= len(page["objects"]) <= 5
        served += [obj["id"] for obj in page["objects"]]
        if not page["more"]:
            break
        params["next"] = page["next"]
    assert sorted(served) == sorted(indicator("", n)["id"] for n in range(12))


# --- Add Objects off the web worker (sections 4.3, 5.5) -------------------------------------


def post_large(
    taxii: Taxii, collection: Collection, lab: Member, capture: DjangoCaptureOnCommitCallbacks
) -> dict[str, Any]:
    objects = [indicator(lab.identity_id, n) for n in range(150)]
    with capture(execute=False) as callbacks:
        response = taxii.post(collection_url(collection, "objects/"), {"objects": objects})
    assert response.status_code == 202
    assert len(callbacks) == 1  # the task is queued once the status is committed
    resource: dict[str, Any] = body(response)
    return resource


def test_it_answers_a_large_add_objects_pending_and_publishes_it_in_a_task(
    lab_a: Member,
    shared: Collection,
    taxii_for: Callable[..., Taxii],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    taxii = taxii_for(lab_a)
    pending = post_large(taxii, shared, lab_a, django_capture_on_commit_callbacks)
    assert pending["status"] == "pending"
    assert (pending["total_count"], pending["pending_count"], pending["success_count"]) == (
        150,
        150,
        0,
    )
    assert not CollectionEntry.objects.filter(collection=shared).exists()
    status_url = f"/{shared.api_root}/status/{pending['id']}/"
    assert body(taxii.get(status_url))["status"] == "pending"

    tasks.status_process(pending["id"])

    done = body(taxii.get(status_url))
    assert done["status"] == "complete"
    assert (done["success_count"], done["failure_count"], done["pending_count"]) == (150, 0, 0)
    assert [d["id"] for d in done["successes"]] == [indicator("", n)["id"] for n in range(150)]
    assert CollectionEntry.objects.filter(collection=shared).count() == 150
    assert Status.objects.get(pk=pending["id"]).request_objects is None


def test_it_does_nothing_when_the_task_runs_twice(
    lab_a: Member,
    shared: Collection,
    taxii_for: Callable[..., Taxii],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    taxii = taxii_for(lab_a)
    pending = post_large(taxii, shared, lab_a, django_capture_on_commit_callbacks)
    tasks.status_process(pending["id"])
    first = Status.objects.get(pk=pending["id"]).as_resource()
    tasks.status_process(pending["id"])
    assert Status.objects.get(pk=pending["id"]).as_resource() == first
    assert CollectionEntry.objects.filter(collection=shared).count() == 150


def test_it_completes_with_failures_when_the_grant_went_before_the_task(
    lab_a: Member,
    shared: Collection,
    taxii_for: Callable[..., Taxii],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    taxii = taxii_for(lab_a)
    pending = post_large(taxii, shared, lab_a, django_capture_on_commit_callbacks)
    shared.writers.remove(lab_a)
    tasks.status_process(pending["id"])
    done = body(taxii.get(f"/{shared.api_root}/status/{pending['id']}/"))
    assert (done["status"], done["success_count"], done["failure_count"]) == ("complete", 0, 150)
    assert "may not write" in done["failures"][0]["message"]
    assert not CollectionEntry.objects.filter(collection=shared).exists()


def test_it_queues_a_stale_pending_status_again_when_its_owner_reads_it(
    lab_a: Member,
    shared: Collection,
    taxii_for: Callable[..., Taxii],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    settings: Any,
) -> None:
    taxii = taxii_for(lab_a)
    pending = post_large(taxii, shared, lab_a, django_capture_on_commit_callbacks)
    status_url = f"/{shared.api_root}/status/{pending['id']}/"
    # Not yet stale: reading it leaves the queued task alone.
    queued = Status.objects.get(pk=pending["id"]).queued_at
    taxii.get(status_url)
    assert Status.objects.get(pk=pending["id"]).queued_at == queued
    # Its task was lost (say, with the broker): the next read queues it again.
    settings.TAXII_ASYNC_STALE_SECONDS = 0
    assert body(taxii.get(status_url))["status"] == "pending"
    requeued = Status.objects.get(pk=pending["id"])
    assert requeued.queued_at is not None and queued is not None and requeued.queued_at > queued
    assert requeued.request_objects is not None and len(requeued.request_objects) == 150


def test_it_keeps_a_small_add_objects_synchronous(
    lab_a: Member, shared: Collection, taxii_for: Callable[..., Taxii]
) -> None:
    objects = [indicator(lab_a.identity_id, n) for n in range(100)]
    response = taxii_for(lab_a).post(collection_url(shared, "objects/"), {"objects": objects})
    assert response.status_code == 202
    assert (body(response)["status"], body(response)["success_count"]) == ("complete", 100)


# --- Status details of SCOs carry a version (section 4.3.1) --------------------------------


@pytest.fixture
def live_server_url(live_server: Any, settings: Any) -> Iterator[str]:
    settings.SITE_URL = live_server.url
    yield str(live_server.url)


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_versions_sco_status_details_as_the_manifest_does(
    live_server_url: str, lab_a: Member
) -> None:
    shared = collection_create(title="Shared", readers=[lab_a], writers=[lab_a])
    server = Server(f"{live_server_url}/taxii2/", user=lab_a.name, password=token_for(lab_a))
    try:
        collection = next(c for c in server.default.collections if c.id == str(shared.id))
        sent = [ipv4(1), ipv4(2), indicator(lab_a.identity_id, 1)]
        status = collection.add_objects({"objects": sent})
        status.refresh()  # a Get Status read, section 4.3
        assert status.status == "complete" and status.success_count == 3
        assert all(detail.get("version") for detail in status.successes)
        manifest = {
            record["id"]: record["version"] for record in collection.get_manifest()["objects"]
        }
        assert {d["id"]: d["version"] for d in status.successes} == manifest
        # Sent again: "present", still a success, still with the manifest's version.
        again = collection.add_objects({"objects": sent[:2]})
        again.refresh()
        assert {d["id"]: d["version"] for d in again.successes} == {
            obj["id"]: manifest[obj["id"]] for obj in sent[:2]
        }
    finally:
        server.close()


# --- DELETE in a collection the caller cannot read (section 5.7) ---------------------------


@pytest.fixture
def private(lab_a: Member, lab_b: Member) -> Collection:
    """Only lab A reads and writes it; it holds one of lab A's indicators."""
    collection = collection_create(title="Private", readers=[lab_a], writers=[lab_a])
    publish(lab_a, collection, indicator(lab_a.identity_id, 1))
    return collection


@pytest.mark.parametrize("scopes", [("read",), ("publish",), ("read", "publish")])
def test_it_answers_404_to_a_delete_in_a_collection_the_caller_cannot_read(
    private: Collection,
    lab_b: Member,
    partner: Member,
    taxii_for: Callable[..., Taxii],
    scopes: tuple[str, ...],
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    for member in (lab_b, partner):
        member_scopes = scopes if member.can_publish else ("read",)
        response = taxii_for(member, *member_scopes).delete(url)
        assert response.status_code == 404, (member, response.content)
        assert body(response)["http_status"] == "404"
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_still_refuses_a_delete_by_a_reader_without_the_publish_scope(
    private: Collection, lab_a: Member, taxii_for: Callable[..., Taxii]
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    response = taxii_for(lab_a, "read").delete(url)
    assert response.status_code == 403
    assert "publish" in body(response)["description"]
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_still_asks_an_anonymous_delete_to_authenticate(private: Collection) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    response = Taxii(APIClient()).delete(url)
    assert response.status_code == 401
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_deletes_for_a_reader_that_writes(
    private: Collection, lab_a: Member, taxii_for: Callable[..., Taxii]
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    assert taxii_for(lab_a, "read", "publish").delete(url).status_code == 200
    assert not CollectionEntry.objects.filter(collection=private).exists()


def test_it_sweeps_stale_pending_statuses_nobody_reads(
    lab_a: Member,
    shared: Collection,
    taxii_for: Callable[..., Taxii],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    settings: Any,
) -> None:
    pending = post_large(taxii_for(lab_a), shared, lab_a, django_capture_on_commit_callbacks)
    queued = Status.objects.get(pk=pending["id"]).queued_at
    tasks.status_sweep()
    assert Status.objects.get(pk=pending["id"]).queued_at == queued

    settings.TAXII_ASYNC_STALE_SECONDS = 0
    tasks.status_sweep()

    requeued = Status.objects.get(pk=pending["id"])
    assert requeued.queued_at is not None and queued is not None and requeued.queued_at > queued
    assert "taxii-status-sweep" in settings.CELERY_BEAT_SCHEDULE
