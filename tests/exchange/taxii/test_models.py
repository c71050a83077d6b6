"""exchange/taxii/models.py: the status resource as Get Status serves it (section 4.3.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from exchange.taxii.models import Status, StatusState
from members.models import Member
from signatures.models import Collection


def status(owner: Member, collection: Collection, **fields: object) -> Status:
    return Status.objects.create(
        owner=owner,
        api_root="feed",
        collection=collection,
        request_timestamp=datetime(2026, 11, 20, 9, 30, 0, 120000, tzinfo=UTC),
        **fields,
    )


def test_it_leaves_out_empty_detail_lists(lab_a: Member, shared: Collection) -> None:
    pending = status(lab_a, shared, status=StatusState.PENDING, total_count=2, pending_count=2)
    assert pending.as_resource() == {
        "id": str(pending.id),
        "status": "pending",
        "request_timestamp": "2026-11-20T09:30:00.120000Z",
        "total_count": 2,
        "success_count": 0,
        "failure_count": 0,
        "pending_count": 2,
    }


def test_it_keeps_the_details_of_each_outcome(lab_a: Member, shared: Collection) -> None:
    success = {"id": "indicator--00000000-0000-4000-8000-000000000001", "version": "v"}
    failure = {**success, "message": "refused"}
    done = status(
        lab_a,
        shared,
        status=StatusState.COMPLETE,
        total_count=2,
        success_count=1,
        failure_count=1,
        successes=[success],
        failures=[failure],
    )
    Status.objects.filter(pk=done.pk).update(request_objects=[{"type": "indicator"}])
    resource = Status.objects.get(pk=done.pk).as_resource()
    assert (resource["successes"], resource["failures"]) == ([success], [failure])
    assert "pendings" not in resource
    # The request's own objects are the server's business, never part of the resource.
    assert "request_objects" not in resource


def test_it_writes_request_timestamp_in_utc(lab_a: Member, shared: Collection) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 20, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
    row = status(lab_a, shared, status=StatusState.COMPLETE)
    Status.objects.filter(pk=row.pk).update(request_timestamp=local)
    stored = Status.objects.get(pk=row.pk)
    assert stored.as_resource()["request_timestamp"] == "2026-11-20T09:30:00.000000Z"
    assert str(stored) == f"{row.id} (complete)"
