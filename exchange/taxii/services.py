"""Writes of the TAXII server: the status record of an Add Objects request (section 4.3).

A request of up to TAXII_ASYNC_OBJECTS objects is published at once and its status is
``complete`` from the start. A larger one is kept in its status, ``pending``, and published
by a Celery task (``exchange.taxii.tasks``), so that no web worker is held for the seconds
a large envelope takes to validate and sign. The task is safe to run twice: it claims the
status with a conditional UPDATE, publishing is idempotent (a stored version is "present")
and only the claim holder completes the status.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from exchange.taxii.models import Status, StatusState
from exchange.taxii.pagination import timestamp_format
from exchange.taxii.versioning import version_or_date_added
from members.models import Member
from signatures.models import Collection, CollectionEntry
from signatures.services import (
    ObjectOutcome,
    PublishForbidden,
    PublishReport,
    objects_publish,
)

logger = logging.getLogger(__name__)


def _unversioned_added(
    collection: Collection, report: PublishReport, outcomes: Sequence[ObjectOutcome]
) -> dict[str, datetime]:
    """stix_id -> date_added of the collection's unversioned objects among ``outcomes``.

    From the entries this request wrote, else (objects already there) from the collection.
    """
    wanted = {o.id for o in outcomes if o.id and o.version is None and o.status != "refused"}
    added = {e.stix_id: e.date_added for e in report.entries if e.stix_id in wanted}
    missing = wanted - added.keys()
    if missing:
        rows = CollectionEntry.objects.filter(
            collection=collection, stix_id__in=missing, version=""
        ).order_by("date_added")
        added.update(rows.values_list("stix_id", "date_added"))
    return added


def _details(
    *,
    collection: Collection,
    objects: Sequence[Any],
    report: PublishReport,
    request_timestamp: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The successes and failures status-details (TAXII 2.1 section 4.3.1).

    ``version`` is required in every entry. It is the object's ``modified`` (or
    ``created``) as it was sent; an unversioned object (an SCO) stored in the collection is
    versioned by its date_added, as its manifest record is (section 5.3.1); one that was
    refused, and so has no date_added, by the request's timestamp.
    """
    added = _unversioned_added(collection, report, report.outcomes)
    successes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for outcome in report.outcomes:
        sent = objects[outcome.index]
        version = outcome.version
        if version is None and isinstance(sent, dict):
            version = sent.get("modified") or sent.get("created")
        if not isinstance(version, str):
            stored = added.get(outcome.id or "")
            version = (
                version_or_date_added(None, stored)
                if stored is not None
                else timestamp_format(request_timestamp)
            )
        detail: dict[str, Any] = {"id": outcome.id or "", "version": version}
        if outcome.reason:
            detail["message"] = outcome.reason
        (failures if outcome.status == "refused" else successes).append(detail)
    return successes, failures


def _outcome_fields(
    *,
    collection: Collection,
    objects: Sequence[Any],
    report: PublishReport,
    request_timestamp: datetime,
) -> dict[str, Any]:
    """A complete status's counts and details."""
    successes, failures = _details(
        collection=collection, objects=objects, report=report, request_timestamp=request_timestamp
    )
    return {
        "status": StatusState.COMPLETE,
        "total_count": len(objects),
        "success_count": len(successes),
        "failure_count": len(failures),
        "pending_count": 0,
        "successes": successes,
        "failures": failures,
    }


def status_create(
    *,
    member: Member,
    collection: Collection,
    objects: Sequence[Any],
    report: PublishReport,
    request_timestamp: datetime,
) -> Status:
    """Record the outcome of an Add Objects request published at once (section 5.5).

    An object already stored counts as a success, as TAXII asks of a re-sent version.
    """
    return Status.objects.create(
        owner=member,
        api_root=collection.api_root,
        collection=collection,
        request_timestamp=request_timestamp,
        **_outcome_fields(
            collection=collection,
            objects=objects,
            report=report,
            request_timestamp=request_timestamp,
        ),
    )


def status_enqueue(
    *,
    member: Member,
    collection: Collection,
    objects: Sequence[Any],
    request_timestamp: datetime,
) -> Status:
    """Keep a large Add Objects request as a ``pending`` status and queue its publication.

    The task is queued once the status is committed, so it always finds it.
    """
    status = Status.objects.create(
        owner=member,
        api_root=collection.api_root,
        collection=collection,
        status=StatusState.PENDING,
        request_timestamp=request_timestamp,
        total_count=len(objects),
        pending_count=len(objects),
        request_objects=list(objects),
        queued_at=timezone.now(),
    )
    transaction.on_commit(lambda: _process_queue(status))
    return status


def _process_queue(status: Status) -> None:
    from exchange.taxii.tasks import status_process as status_process_task

    try:
        status_process_task.delay(str(status.pk))
    except (OperationalError, OSError) as exc:
        # The request is safe in the status; the owner's next status read queues it again.
        Status.objects.filter(pk=status.pk, queued_at=status.queued_at).update(queued_at=None)
        logger.warning("taxii: broker unavailable, status %s left pending: %s", status.pk, exc)


def _stale(now: datetime) -> Q:
    """Not queued or claimed within TAXII_ASYNC_STALE_SECONDS: its task is presumed lost."""
    cutoff = now - timedelta(seconds=settings.TAXII_ASYNC_STALE_SECONDS)
    return (Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff)
    )


def status_requeue_stale(*, status: Status) -> bool:
    """Queue the publication of a pending status again if its task was lost.

    Called when the owner reads the status (clients poll it until it is complete), so a
    request whose message died with the broker, or whose worker died mid-way, is resumed.
    """
    now = timezone.now()
    requeued = Status.objects.filter(_stale(now), pk=status.pk, status=StatusState.PENDING).update(
        queued_at=now
    )
    if requeued:
        status.queued_at = now
        _process_queue(status)
    return bool(requeued)


def statuses_requeue_stale(*, limit: int = 100) -> int:
    """Queue again the pending statuses whose task was lost, oldest first; how many.

    The periodic sweep (settings.CELERY_BEAT_SCHEDULE): a request is finished even when its
    owner never reads its status. ``limit`` bounds one sweep's work; the next takes the rest.
    """
    stale = Status.objects.filter(_stale(timezone.now()), status=StatusState.PENDING)
    return sum(
        status_requeue_stale(status=status)
        for status in stale.order_by("request_timestamp")[:limit]
    )


def status_process(*, status_id: str) -> None:
    """Publish a pending request's objects and complete its status (the task's work).

    Claimed with a conditional UPDATE: a second run while the first holds the claim, or
    after it completed, does nothing. A claim older than TAXII_ASYNC_STALE_SECONDS may be
    taken over; the first holder then loses the right to complete, and its publications
    are harmless (the taker finds them present).
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TAXII_ASYNC_STALE_SECONDS)
    claimed = (
        Status.objects.filter(pk=status_id, status=StatusState.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff))
        .update(claimed_at=now)
    )
    if not claimed:
        return
    status = Status.objects.select_related("owner", "collection").filter(pk=status_id).first()
    if status is None:
        return  # its member or collection was deleted meanwhile
    objects: list[Any] = status.request_objects or []
    try:
        report = objects_publish(member=status.owner, objects=objects, collection=status.collection)
    except PublishForbidden as exc:
        # The grant was withdrawn after the request was accepted: every object fails.
        report = PublishReport(
            outcomes=[
                ObjectOutcome(index, "refused", id=_object_id(obj), reason=str(exc))
                for index, obj in enumerate(objects)
            ]
        )
    except DatabaseError:
        # Give the claim back so that the retry (tasks.py) may take it at once.
        Status.objects.filter(pk=status_id, claimed_at=now).update(claimed_at=None)
        raise
    Status.objects.filter(pk=status_id, status=StatusState.PENDING, claimed_at=now).update(
        request_objects=None,
        **_outcome_fields(
            collection=status.collection,
            objects=objects,
            report=report,
            request_timestamp=status.request_timestamp,
        ),
    )


def _object_id(obj: Any) -> str | None:
    object_id = obj.get("id") if isinstance(obj, dict) else None
    return object_id if isinstance(object_id, str) else None
