"""signatures/services/collections.py: what is in a collection, who may change it, the audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from members.models import AuditEvent, Member
from signatures.models import CollectionEntry, OutboxEntry
from signatures.sdk.profile import deterministic_id
from signatures.services import (
    PublishForbidden,
    collection_create,
    collection_entries_remove,
    objects_publish,
)
from signatures.services.collections import collection_grant_set
from tests.stix_samples import ip_range_indicator

ADDRESS = "198.51.100.7"
ADDRESS_ID = deterministic_id("ipv4-addr", {"value": ADDRESS}, ["value"])


def publish(member: Member, collection: Any, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects), collection=collection)
    assert report.count("refused") == 0, report.as_dict()


@pytest.fixture
def shared(lab_a: Member, lab_b: Member) -> Any:
    return collection_create(title="Shared", readers=[lab_a, lab_b], writers=[lab_a, lab_b])


def flags(collection: Any, stix_id: str) -> list[tuple[str, bool, bool]]:
    rows = CollectionEntry.objects.filter(collection=collection, stix_id=stix_id)
    return sorted(
        (entry.stix_object.publisher.name, entry.is_latest, entry.is_first)
        for entry in rows.select_related("stix_object__publisher")
    )


def test_it_keeps_each_publishers_copy_of_an_sco_latest(
    lab_a: Member, lab_b: Member, shared: Any
) -> None:
    publish(lab_a, shared, {"type": "ipv4-addr", "id": ADDRESS_ID, "value": ADDRESS})
    publish(lab_b, shared, {"type": "ipv4-addr", "id": ADDRESS_ID, "value": ADDRESS})

    assert flags(shared, ADDRESS_ID) == [("lab-a", True, True), ("lab-b", True, True)]


def test_it_moves_latest_within_the_creators_lineage(lab_a: Member, shared: Any) -> None:
    first = ip_range_indicator(lab_a.identity_id)
    publish(lab_a, shared, first, {**first, "modified": "2026-11-21T00:00:00.000Z"})

    rows = CollectionEntry.objects.filter(collection=shared, stix_id=first["id"])
    assert sorted(rows.values_list("version", "is_latest", "is_first")) == [
        ("2026-11-20T09:30:00.123000000Z", False, True),
        ("2026-11-21T00:00:00.000000000Z", True, False),
    ]


def test_it_writes_the_outbox_in_the_same_transaction(lab_a: Member, shared: Any) -> None:
    before = OutboxEntry.objects.count()
    publish(lab_a, shared, ip_range_indicator(lab_a.identity_id))
    entry = CollectionEntry.objects.get(collection=shared)
    assert OutboxEntry.objects.count() == before + 1
    assert OutboxEntry.objects.filter(collection_entry=entry, dispatched_at=None).exists()


def test_it_lets_only_the_creator_or_the_forum_remove_an_object(
    lab_a: Member, lab_b: Member, forum: Member, shared: Any
) -> None:
    publish(lab_a, shared, ip_range_indicator(lab_a.identity_id))
    entries = CollectionEntry.objects.filter(collection=shared)

    with pytest.raises(PublishForbidden, match="Only the creator"):
        collection_entries_remove(member=lab_b, collection=shared, entries=entries)
    assert not AuditEvent.objects.filter(action="collection-entries-remove").exists()
    shared.writers.add(forum)
    indicator_id = entries.get().stix_id
    assert collection_entries_remove(member=forum, collection=shared, entries=entries) == 1

    removal = AuditEvent.objects.get(action="collection-entries-remove")
    assert (removal.target, removal.actor_member) == (str(shared.pk), forum)
    assert removal.after == {"objects": [indicator_id], "versions": 1}
    # Removing nothing changes nothing, and so records nothing.
    assert collection_entries_remove(member=forum, collection=shared, entries=entries) == 0
    assert AuditEvent.objects.filter(action="collection-entries-remove").count() == 1


def test_it_audits_a_creation_and_a_grant_with_their_actor(
    lab_a: Member, partner: Member, forum: Member
) -> None:
    made = collection_create(title="T", readers=[lab_a], writers=[lab_a], actor_member=forum)
    created = AuditEvent.objects.get(action="collection-create", target=str(made.pk))
    assert created.actor_member == forum and created.after is not None
    assert (created.after["readers"], created.after["writers"]) == (["lab-a"], ["lab-a"])

    assert collection_grant_set(
        collection=made, member=partner, role="reader", granted=True, actor_member=forum
    )
    assert made.readers.filter(pk=partner.pk).exists()
    with pytest.raises(ValidationError, match="Read-only"):
        collection_grant_set(collection=made, member=partner, role="writer", granted=True)
