"""create_collection: a collection and its grants from the command line, audited."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from members.models import AuditEvent, Member
from signatures.models import Collection
from tests.conftest import run


def test_create_collection_records_the_collection_and_its_grants(
    lab_a: Member, partner: Member
) -> None:
    output = run(
        "create_collection", "--title", "Shared", "--readers", "lab-a,partner", "--writers", "lab-a"
    )
    collection = Collection.objects.get(pk=output.strip().splitlines()[-1])
    event = AuditEvent.objects.get(action="collection-create", target=str(collection.pk))
    assert event.after is not None
    assert (event.after["readers"], event.after["writers"]) == (["lab-a", "partner"], ["lab-a"])
    assert event.note == "manage.py create_collection"


@pytest.mark.django_db
def test_it_names_bootstrap_when_the_exchange_has_no_members_yet() -> None:
    with pytest.raises(CommandError, match=r"No member named lab-a.*manage.py bootstrap"):
        run("create_collection", "--title", "Early", "--readers", "lab-a")
