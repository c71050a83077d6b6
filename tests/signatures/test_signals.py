"""signatures/signals.py: ``outbox_filled``, sent once the entries it announces are committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from members.models import Member
from signatures.models import Collection, CollectionEntry, OutboxEntry
from signatures.services import collection_create, objects_publish
from signatures.signals import outbox_filled
from tests.stix_samples import ip_range_indicator

Heard = list[tuple[type, list[int]]]


@pytest.fixture
def heard() -> Iterator[Heard]:
    """What a receiver hears: the sender, and the outbox's pending entries at that moment."""
    calls: Heard = []

    def receiver(sender: type, **_: Any) -> None:
        pending = OutboxEntry.objects.filter(dispatched_at=None).order_by("id")
        calls.append((sender, list(pending.values_list("collection_entry_id", flat=True))))

    outbox_filled.connect(receiver, dispatch_uid="test-signals-receiver")
    yield calls
    outbox_filled.disconnect(dispatch_uid="test-signals-receiver")


@pytest.fixture
def shared(lab_a: Member) -> Collection:
    return collection_create(title="Shared", readers=[lab_a], writers=[lab_a])


def publish(member: Member, collection: Collection, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects), collection=collection)
    assert report.count("refused") == 0, report.as_dict()


def test_it_is_heard_once_after_commit_with_the_new_entries_in_the_outbox(
    lab_a: Member,
    shared: Collection,
    heard: Heard,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    first = ip_range_indicator(lab_a.identity_id)
    second = {**first, "modified": "2026-11-21T00:00:00.000Z"}
    waiting = set(OutboxEntry.objects.values_list("collection_entry_id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        publish(lab_a, shared, first, second)
        assert heard == []  # not before the commit
    entries = CollectionEntry.objects.filter(collection=shared)
    assert [sender for sender, _ in heard] == [OutboxEntry]
    announced = set(heard[0][1]) - waiting
    assert announced == set(entries.values_list("id", flat=True))
    assert len(announced) == 2


def test_it_is_not_sent_when_nothing_new_was_added(
    lab_a: Member,
    shared: Collection,
    heard: Heard,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    indicator = ip_range_indicator(lab_a.identity_id)
    publish(lab_a, shared, indicator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        publish(lab_a, shared, indicator)  # already added: no new entry
    assert heard == []
    assert callbacks == []


def test_it_is_not_sent_when_the_transaction_rolls_back(
    lab_a: Member,
    shared: Collection,
    heard: Heard,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    waiting = OutboxEntry.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(lab_a, shared, ip_range_indicator(lab_a.identity_id))
        raise RuntimeError("the caller gives up")
    assert heard == []
    assert OutboxEntry.objects.count() == waiting
