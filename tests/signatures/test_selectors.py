"""signatures.selectors, table by table: which collections a member may read, write and learn
of, which objects it is served (docs/sharing-policy.md), and the partner rule the console
asks before releasing, which must never disagree with the policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet

from members.models import Member
from signatures.choices import TlpLevel
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk.constants import DISTRIBUTION_EXTENSION_ID, TLP2_BY_LEVEL
from signatures.selectors import (
    collections_readable_by,
    collections_visible_to,
    collections_writable_by,
    entries_visible_to,
    objects_visible_to,
    partners_may_be_served,
)
from signatures.services import collection_create, objects_publish
from tests import stix_samples
from tests.factories import MemberFactory

OPEN = ("unmarked", "clear", "green", "amber")
EVERY_LEVEL = (*OPEN, "amber+strict", "red")


@pytest.fixture
def members(lab_a: Member, lab_b: Member, partner: Member, forum: Member) -> dict[str, Member]:
    """lab-b is in lab-a's AMBER+STRICT allowed set, and so is the partner; lab-c is not."""
    lab_c = MemberFactory(name="lab-c", kind="lab")
    lab_a.amber_strict_recipients.add(lab_b, partner)
    return {"lab-a": lab_a, "lab-b": lab_b, "lab-c": lab_c, "partner": partner, "forum": forum}


@pytest.fixture
def collections(members: dict[str, Member]) -> dict[str, Collection]:
    """shared: lab-a writes, labs and the partner read; strict: the same, with AMBER+STRICT
    open to partners; drop-box: lab-b writes without reading; hidden: lab-c's alone."""
    m = members
    made = {
        "shared": collection_create(
            title="shared",
            readers=[m["lab-a"], m["lab-b"], m["lab-c"], m["partner"]],
            writers=[m["lab-a"]],
        ),
        "strict": collection_create(
            title="strict",
            readers=[m["lab-a"], m["partner"]],
            writers=[m["lab-a"]],
            partners_read_amber_strict=True,
        ),
        "drop-box": collection_create(title="drop-box", readers=[], writers=[m["lab-b"]]),
        "hidden": collection_create(title="hidden", readers=[m["lab-c"]], writers=[m["lab-c"]]),
    }
    # A partner listed as a writer (only the admin's raw tables could do it) still writes
    # nothing: partners cannot publish.
    made["shared"].writers.add(m["partner"])
    return made


def titles(collections: QuerySet[Collection]) -> set[str]:
    # Member creation grants the default collection to everyone; the tables are about ours.
    return set(
        collections.exclude(pk=Collection.objects.default().pk).values_list("title", flat=True)
    )


@pytest.mark.parametrize(
    ("member", "readable"),
    [
        ("lab-a", {"shared", "strict"}),
        ("lab-b", {"shared"}),
        ("lab-c", {"shared", "hidden"}),
        ("partner", {"shared", "strict"}),
        ("forum", {"shared", "strict", "drop-box", "hidden"}),
    ],
)
def test_it_lists_the_collections_a_member_reads(
    members: dict[str, Member],
    collections: dict[str, Collection],
    member: str,
    readable: set[str],
) -> None:
    assert titles(collections_readable_by(members[member])) == readable


@pytest.mark.parametrize(
    ("member", "writable"),
    [
        ("lab-a", {"shared", "strict"}),
        ("lab-b", {"drop-box"}),
        ("lab-c", {"hidden"}),
        ("partner", set()),
        ("forum", set()),
    ],
)
def test_it_lists_the_collections_a_member_writes(
    members: dict[str, Member],
    collections: dict[str, Collection],
    member: str,
    writable: set[str],
) -> None:
    assert titles(collections_writable_by(members[member])) == writable


@pytest.mark.parametrize(
    ("member", "visible"),
    [
        ("lab-a", {("shared", True, True), ("strict", True, True)}),
        ("lab-b", {("shared", True, False), ("drop-box", False, True)}),
        ("lab-c", {("shared", True, False), ("hidden", True, True)}),
        ("partner", {("shared", True, False), ("strict", True, False)}),
        (
            "forum",
            {
                ("shared", True, False),
                ("strict", True, False),
                ("drop-box", True, False),
                ("hidden", True, False),
            },
        ),
    ],
)
def test_it_shows_each_member_the_collections_it_reads_or_writes_with_its_permissions(
    members: dict[str, Member],
    collections: dict[str, Collection],
    member: str,
    visible: set[tuple[str, bool, bool]],
) -> None:
    default = Collection.objects.default().pk
    rows = collections_visible_to(members[member]).exclude(pk=default)
    assert {(c.title, c.can_read, c.can_write) for c in rows} == visible


def level_object(creator: Member, name: str, level: str, n: int, **extra: Any) -> dict[str, Any]:
    """An indicator named ``name`` at TLP ``level``; TLP:RED names lab-b as its recipient."""
    obj = stix_samples.ip_range_indicator(
        creator.identity_id, id=f"indicator--0e0e0e0e-0000-4000-8000-{n:012d}", name=name, **extra
    )
    if level == "unmarked":
        del obj["object_marking_refs"]
    else:
        obj["object_marking_refs"] = [TLP2_BY_LEVEL[level]]
    return obj


def publish(member: Member, collection: Collection, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects), collection=collection)
    refused = [o.reason for o in report.outcomes if o.status == "refused"]
    assert not refused, refused


@pytest.fixture
def published(members: dict[str, Member], collections: dict[str, Collection]) -> None:
    """lab-a publishes one object per TLP level into shared and into strict."""
    lab_b = members["lab-b"]
    red_recipients = {
        DISTRIBUTION_EXTENSION_ID: {
            "extension_type": "property-extension",
            "recipients": [lab_b.identity_id],
        }
    }
    n = 0
    for where in ("shared", "strict"):
        objects = []
        for level in EVERY_LEVEL:
            n += 1
            extra = {"extensions": red_recipients} if level == "red" else {}
            objects.append(level_object(members["lab-a"], f"{where}:{level}", level, n, **extra))
        publish(members["lab-a"], collections[where], *objects)


def names(where: str, *levels: str) -> set[str]:
    return {f"{where}:{level}" for level in levels}


@pytest.mark.parametrize(
    ("member", "served"),
    [
        # The publisher sees all it published.
        ("lab-a", names("shared", *EVERY_LEVEL) | names("strict", *EVERY_LEVEL)),
        # In the allowed set and the one recipient named on TLP:RED.
        ("lab-b", names("shared", *EVERY_LEVEL)),
        # Neither: open levels only.
        ("lab-c", names("shared", *OPEN)),
        # In the allowed set, but AMBER+STRICT only where the collection opens it to partners.
        ("partner", names("shared", *OPEN) | names("strict", *OPEN, "amber+strict")),
        # Everything but TLP:RED that does not name it.
        (
            "forum",
            names("shared", *OPEN, "amber+strict") | names("strict", *OPEN, "amber+strict"),
        ),
    ],
)
def test_it_serves_each_member_what_the_policy_allows(
    members: dict[str, Member], published: None, member: str, served: set[str]
) -> None:
    reader = members[member]
    entries = entries_visible_to(reader, CollectionEntry.objects.all())
    ours = {f"{where}:{level}" for where in ("shared", "strict") for level in EVERY_LEVEL}
    entry_names = set(entries.values_list("stix_object__data__name", flat=True)) & ours
    object_names = set(objects_visible_to(reader).values_list("data__name", flat=True)) & ours
    assert entry_names == served
    assert object_names == served


@pytest.mark.parametrize("partners_read_amber_strict", [False, True])
@pytest.mark.parametrize("level", TlpLevel.values)
def test_the_partner_rule_agrees_with_the_policy_at_every_level(
    members: dict[str, Member], level: str, partners_read_amber_strict: bool
) -> None:
    # The partner is in lab-a's allowed set: the most a partner can be granted short of
    # being named on the object itself.
    lab_a, partner = members["lab-a"], members["partner"]
    collection = collection_create(
        title="feed",
        readers=[lab_a, partner],
        writers=[lab_a],
        partners_read_amber_strict=partners_read_amber_strict,
    )
    publish(lab_a, collection, level_object(lab_a, "object", level or "unmarked", 1))
    stored = StixObject.objects.get(stix_id="indicator--0e0e0e0e-0000-4000-8000-000000000001")
    assert stored.tlp == level

    served = entries_visible_to(partner, CollectionEntry.objects.filter(collection=collection))
    assert partners_may_be_served(tlp=stored.tlp, collection=collection) is served.exists()
