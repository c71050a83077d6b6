"""exchange/taxii/versioning.py: the version TAXII reports in manifests and versions lists."""

from __future__ import annotations

from datetime import UTC, datetime

from exchange.taxii.versioning import version_or_date_added, version_text
from members.models import Member
from signatures.models import Collection, CollectionEntry
from signatures.sdk.constants import TLP2_AMBER
from tests.exchange.taxii.conftest import V3, indicator, publish

ADDRESS = {
    "type": "ipv4-addr",
    "spec_version": "2.1",
    "id": "ipv4-addr--1f0f8d8e-6d3b-5a7c-9e2f-0a1b2c3d4e05",
    "value": "203.0.113.0/24",
}


def version_of(stix_id: str) -> str | None:
    entry = CollectionEntry.objects.filter(stix_id=stix_id).annotate(text=version_text()).first()
    assert entry is not None, stix_id
    text: str | None = entry.text  # type: ignore[attr-defined]
    return text


def test_it_reads_modified_as_it_was_sent(lab_a: Member, shared: Collection) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 1, modified=V3))
    # Nine fraction digits: more than a datetime holds, all of them kept.
    assert version_of(indicator("", 1)["id"]) == V3


def test_it_falls_back_to_created_without_modified(lab_a: Member) -> None:
    # TLP marking definitions are stored with created only.
    assert version_of(TLP2_AMBER) == "2022-10-01T00:00:00.000Z"


def test_it_has_no_version_for_an_object_with_neither(lab_a: Member, shared: Collection) -> None:
    publish(lab_a, shared, ADDRESS)
    assert version_of(ADDRESS["id"]) is None


def test_it_versions_an_object_without_a_version_by_its_date_added() -> None:
    added = datetime(2026, 11, 20, 9, 30, 0, 5, tzinfo=UTC)
    assert version_or_date_added(None, added) == "2026-11-20T09:30:00.000005Z"
    assert version_or_date_added("", added) == "2026-11-20T09:30:00.000005Z"
    assert version_or_date_added(V3, added) == V3
