"""Writes of the TAXII server: the status record of an Add Objects request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exchange.taxii.models import Status, StatusState
from members.models import Member
from signatures.models import Collection
from signatures.services import ObjectOutcome, PublishReport


def _detail(outcome: ObjectOutcome, sent: Any) -> dict[str, Any]:
    """A status-details entry (TAXII 2.1 section 4.3.1): id, version and message.

    The version is the object's ``modified`` (or ``created``) as it was sent; objects
    that carry neither (unversioned SCOs) have none to report.
    """
    detail: dict[str, Any] = {"id": outcome.id or ""}
    version = outcome.version
    if version is None and isinstance(sent, dict):
        version = sent.get("modified") or sent.get("created")
    if isinstance(version, str):
        detail["version"] = version
    if outcome.reason:
        detail["message"] = outcome.reason
    return detail


def status_create(
    *,
    member: Member,
    collection: Collection,
    objects: Sequence[Any],
    report: PublishReport,
    request_timestamp: datetime,
) -> Status:
    """Record the outcome of an Add Objects request (TAXII 2.1 section 5.5).

    Publishing is synchronous (a body within MAX_CONTENT_LENGTH is validated and stored
    in one request), so the status is ``complete`` from the start. An object already
    stored counts as a success, as TAXII asks of a re-sent version.
    """
    successes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for outcome in report.outcomes:
        detail = _detail(outcome, objects[outcome.index])
        (failures if outcome.status == "refused" else successes).append(detail)
    return Status.objects.create(
        owner=member,
        api_root=collection.api_root,
        collection=collection,
        status=StatusState.COMPLETE,
        request_timestamp=request_timestamp,
        total_count=len(objects),
        success_count=len(successes),
        failure_count=len(failures),
        pending_count=0,
        successes=successes,
        failures=failures,
    )
