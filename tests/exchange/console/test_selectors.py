"""exchange/console/selectors.py: the queue, its rows, the Forum's view of an object and the
audit log's filters, read directly (test_views.py reads them through the pages)."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from django.core.exceptions import ValidationError

from exchange.console.selectors import (
    AuditFilters,
    QueueFilters,
    audit_actions,
    audit_events,
    forum_member,
    object_detail,
    queue_labs,
    queue_objects,
    queue_rows,
    visible_latest,
)
from members.models import AuditEvent, Member
from signatures.models import StixObject
from tests import stix_samples
from tests.exchange.console.conftest import publish


def queued(**filters: object) -> list[str]:
    forum = forum_member()
    return [obj.stix_id for obj in queue_objects(forum, QueueFilters(**filters))]  # type: ignore[arg-type]


def test_it_shows_summaries_signature_state_and_corroboration(
    slice_ids: dict[str, str], lab_a: Member
) -> None:
    forum = forum_member()
    rows = {
        row.obj.stix_id: row
        for row in queue_rows(forum, list(queue_objects(forum, QueueFilters())))
    }
    ranged = rows[slice_ids["range"]]
    assert (ranged.summary, ranged.kind, ranged.lab) == (
        "IPv4 in 203.0.113.0/24",
        "network",
        "lab-a",
    )
    assert ranged.corroborated_by == ["lab-b"]
    assert rows[slice_ids["same_pattern"]].corroborated_by == ["lab-a"]
    assert rows[slice_ids["prompt"]].corroborated_by == []
    # A sighting names what it sighted by that object's name.
    assert rows[slice_ids["sighting"]].summary == "sighting of Account-farm egress range, 412 times"
    assert ranged.verification.status == "valid"
    assert ranged.verification.signees == (lab_a.identity_id,)
    assert ranged.verification.signed_by == ("lab-a",)

    # A stored object altered after signing shows as invalid, with the verifier's reason.
    StixObject.objects.filter(stix_id=slice_ids["prompt"]).update(
        raw=StixObject.objects.get(stix_id=slice_ids["prompt"]).raw.replace(
            '"confidence":85', '"confidence":5'
        )
    )
    row = queue_rows(forum, [StixObject.objects.get(stix_id=slice_ids["prompt"])])[0]
    assert row.verification.status == "invalid"
    assert "changed after signing" in row.verification.reason


def test_it_shows_unsigned_objects_as_unsigned(slice_ids: dict[str, str]) -> None:
    forum = forum_member()
    obj = StixObject.objects.get(stix_id=slice_ids["range"])
    data = orjson.loads(obj.raw)
    del data["extensions"]
    obj.raw = orjson.dumps(data).decode()
    assert queue_rows(forum, [obj])[0].verification.status == "unsigned"


def test_it_queues_unmarked_objects_under_the_empty_tlp_and_none_as_any(
    slice_ids: dict[str, str], lab_a: Member
) -> None:
    address = stix_samples.ipv4_range()
    publish(lab_a, address)
    assert "object_marking_refs" not in address
    assert queued(tlp="") == [address["id"]]
    assert queued(category="observable") == [address["id"]]
    assert len(queued(tlp=None)) == len(slice_ids) + 1
    # A sighting names no observable type: of no known kind.
    assert queued(kind="other") == [slice_ids["sighting"]]


def test_it_lists_labs_and_the_forum_but_no_partner_as_queue_labs(
    lab_a: Member, lab_b: Member, partner: Member
) -> None:
    assert queue_labs() == ["forum", "lab-a", "lab-b"]


def test_it_finds_the_newest_visible_version_or_refuses_as_if_absent(
    slice_ids: dict[str, str], lab_a: Member
) -> None:
    newer = stix_samples.ip_range_indicator(
        lab_a.identity_id, modified="2026-11-21T10:00:00.000Z", confidence=95
    )
    publish(lab_a, newer)
    forum = forum_member()
    assert visible_latest(forum, slice_ids["range"]).data["confidence"] == 95
    missing = "indicator--00000000-0000-4000-8000-0000000000ff"
    with pytest.raises(ValidationError, match="visible to the Forum"):
        visible_latest(forum, missing)
    assert object_detail(forum, missing) is None


def test_it_filters_audit_events_by_target_actor_and_day(lab_a: Member, lab_b: Member) -> None:
    AuditEvent.objects.create(action="token-issue", target="lab-a/ci", actor_member=lab_a)
    AuditEvent.objects.create(action="token-revoke", target="lab-b/ci", actor_member=lab_b)
    old = AuditEvent.objects.create(action="token-issue", target="lab-a/old", actor_member=lab_a)
    AuditEvent.objects.filter(pk=old.pk).update(created_at="2020-01-01T12:00:00Z")

    def targets(**filters: object) -> list[str]:
        return [e.target for e in audit_events(AuditFilters(**filters))]  # type: ignore[arg-type]

    assert targets(target="LAB-A/") == ["lab-a/ci", "lab-a/old"]
    assert targets(actor="lab-b") == ["lab-b/ci"]
    assert targets(action="token-issue", until=date(2020, 1, 1)) == ["lab-a/old"]
    assert "lab-a/old" not in targets(since=date(2020, 1, 2))
    actions = audit_actions()
    assert actions == sorted(set(actions)) and {"token-issue", "token-revoke"} <= set(actions)
