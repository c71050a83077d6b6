"""exchange/taxii/services.py: the status resource of Add Objects (TAXII 2.1 section 4.3).

- a large Add Objects is published by a task, the status ``pending`` until then, and a
  stale pending status is queued again (docs/taxii.md, "Limits");
- status details of SCOs carry the version the manifest serves (section 4.3.1).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks
from taxii2client.v21 import Server

from exchange.taxii import tasks
from exchange.taxii.models import Status
from members.models import Member
from signatures.models import Collection, CollectionEntry
from signatures.services import collection_create
from tests.exchange.taxii.conftest import Taxii, body, collection_url, indicator
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
