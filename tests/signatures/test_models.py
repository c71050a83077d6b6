"""signatures/models.py: the default collection, date_added order, versions and their identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from members.models import Member
from signatures.models import (
    DEFAULT_COLLECTION_ID,
    STIX_MEDIA_TYPE,
    Collection,
    CollectionEntry,
    StixObject,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
INDICATOR_ID = "indicator--6b3f0a2e-0000-4000-8000-000000000001"
ADDRESS_ID = "ipv4-addr--6b3f0a2e-0000-5000-8000-000000000002"


def stored(publisher: Member, stix_id: str, version: str, creator: str = "") -> StixObject:
    data: dict[str, Any] = {"type": stix_id.split("--")[0], "id": stix_id}
    return StixObject.objects.create(
        stix_id=stix_id,
        type=data["type"],
        version=version,
        created_by_ref=creator,
        raw=json.dumps(data),
        data=data,
        publisher=publisher,
    )


def test_it_keeps_the_default_collection_the_migration_made(db: None) -> None:
    default = Collection.objects.default()
    assert default.pk == DEFAULT_COLLECTION_ID
    assert Collection.objects.default() == default
    assert Collection.objects.filter(is_default=True).count() == 1


def test_it_recreates_the_default_collection_with_its_fixed_id(db: None) -> None:
    Collection.objects.filter(is_default=True).delete()
    default = Collection.objects.default()
    assert (default.pk, default.alias, default.is_default) == (
        DEFAULT_COLLECTION_ID,
        "distillation",
        True,
    )


def test_it_refuses_a_second_default_collection(db: None) -> None:
    Collection.objects.default()
    with pytest.raises(IntegrityError), transaction.atomic():
        Collection.objects.create(title="Another", is_default=True)


def test_it_serves_stix_when_a_collection_names_no_media_type(db: None) -> None:
    plain = Collection.objects.create(title="Plain")
    assert plain.media_types == [STIX_MEDIA_TYPE]
    chosen = Collection.objects.create(title="Chosen", media_types=["application/x-lab"])
    assert chosen.media_types == ["application/x-lab"]


def test_it_hands_out_now_as_date_added_when_the_clock_moves_on() -> None:
    collection = Collection(title="T", last_date_added=NOW)
    later = NOW + timedelta(seconds=5)
    assert collection.next_date_added(later) == later
    assert collection.last_date_added == later
    assert Collection(title="Fresh").next_date_added(NOW) == NOW


@pytest.mark.parametrize("step", [timedelta(0), timedelta(seconds=-30)])
def test_it_never_repeats_or_goes_back_on_date_added(step: timedelta) -> None:
    collection = Collection(title="T", last_date_added=NOW)
    first = collection.next_date_added(NOW + step)
    second = collection.next_date_added(NOW + step)
    assert (first, second) == (NOW + timedelta(microseconds=1), NOW + timedelta(microseconds=2))
    assert collection.last_date_added == second


def test_it_selects_the_newest_version_of_each_object(lab_a: Member) -> None:
    old = stored(lab_a, INDICATOR_ID, "2026-11-20T00:00:00.000000000Z", lab_a.identity_id)
    new = stored(lab_a, INDICATOR_ID, "2026-11-21T00:00:00.000000000Z", lab_a.identity_id)
    address = stored(lab_a, ADDRESS_ID, "")
    mine = StixObject.objects.filter(stix_id__in=[INDICATOR_ID, ADDRESS_ID])
    assert set(mine.latest_versions()) == {new, address}
    assert old not in mine.latest_versions()


def test_it_names_a_version_with_a_creator_once_exchange_wide(lab_a: Member, lab_b: Member) -> None:
    stored(lab_a, INDICATOR_ID, "2026-11-20T00:00:00.000000000Z", lab_a.identity_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        stored(lab_b, INDICATOR_ID, "2026-11-20T00:00:00.000000000Z", lab_a.identity_id)


def test_it_keeps_an_object_without_a_creator_once_per_publisher(
    lab_a: Member, lab_b: Member
) -> None:
    stored(lab_a, ADDRESS_ID, "")
    stored(lab_b, ADDRESS_ID, "")
    assert StixObject.objects.filter(stix_id=ADDRESS_ID).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        stored(lab_a, ADDRESS_ID, "")


def test_it_puts_an_object_version_in_a_collection_once(lab_a: Member) -> None:
    collection = Collection.objects.create(title="T")
    obj = stored(lab_a, ADDRESS_ID, "")
    fields = {
        "collection": collection,
        "stix_object": obj,
        "date_added": NOW,
        "stix_id": ADDRESS_ID,
        "type": "ipv4-addr",
        "spec_version": "2.1",
    }
    CollectionEntry.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionEntry.objects.create(**{**fields, "date_added": NOW + timedelta(seconds=1)})
