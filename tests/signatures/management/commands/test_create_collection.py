"""create_collection: a collection and its grants from the command line, audited."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from members.models import AuditEvent, Member
from signatures.models import Collection
from tests.conftest import run


def created(output: str) -> Collection:
    """The collection whose id the command printed on its last line."""
    return Collection.objects.get(pk=output.strip().splitlines()[-1])


def test_it_creates_a_collection_with_its_settings_and_grants(
    lab_a: Member, lab_b: Member, partner: Member
) -> None:
    collection = created(
        run(
            "create_collection",
            "--title",
            "Partners feed",
            "--readers",
            "lab-a,partner",
            "--writers",
            "lab-b",
            "--description",
            "For partners",
            "--partners-read-amber-strict",
        )
    )
    assert collection.title == "Partners feed" and collection.api_root == "feed"
    assert collection.description == "For partners" and collection.partners_read_amber_strict
    assert set(collection.readers.all()) == {lab_a, partner}
    assert set(collection.writers.all()) == {lab_b}


def test_it_records_the_collection_and_its_grants_in_the_audit_log(
    lab_a: Member, partner: Member
) -> None:
    collection = created(
        run(
            "create_collection",
            "--title",
            "Shared",
            "--readers",
            "lab-a,partner",
            "--writers",
            "lab-a",
        )
    )
    assert not collection.partners_read_amber_strict
    event = AuditEvent.objects.get(action="collection-create", target=str(collection.pk))
    assert event.after is not None
    assert (event.after["readers"], event.after["writers"]) == (["lab-a", "partner"], ["lab-a"])
    assert event.note == "manage.py create_collection"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--writers", "partner"], "Read-only members cannot be writers: partner"),
        (["--readers", "lab-a, nobody,someone"], "No member named nobody, someone"),
        (["--api-root", "elsewhere"], "elsewhere"),
    ],
)
def test_it_refuses_partners_as_writers_and_unknown_members_or_roots(
    lab_a: Member, partner: Member, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("create_collection", "--title", "T", *args)
    assert not Collection.objects.filter(title="T").exists()
    assert not AuditEvent.objects.filter(action="collection-create").exists()
