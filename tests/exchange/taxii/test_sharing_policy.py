"""docs/sharing-policy.md, row by row, as served over TAXII (entries_visible_to)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from members.models import Member
from signatures.models import Collection
from signatures.sdk.constants import (
    DISTRIBUTION_EXTENSION_ID,
    TLP2_AMBER,
    TLP2_AMBER_STRICT,
    TLP2_CLEAR,
    TLP2_GREEN,
    TLP2_RED,
)
from signatures.services import collection_create
from tests.exchange.taxii.conftest import Taxii, collection_url, indicator, publish
from tests.factories import MemberFactory

MARKINGS = {
    "unmarked": None,
    "clear": TLP2_CLEAR,
    "green": TLP2_GREEN,
    "amber": TLP2_AMBER,
    "amber+strict": TLP2_AMBER_STRICT,
    "red": TLP2_RED,
}
OPEN = {"unmarked", "clear", "green", "amber"}


@pytest.fixture
def lab_c(forum: Member) -> Member:
    return MemberFactory(name="lab-c", kind="lab")


@pytest.fixture
def policy(lab_a: Member, lab_b: Member, lab_c: Member, partner: Member) -> Collection:
    """lab-a publishes one object per TLP level; lab-b is in its AMBER+STRICT allowed set
    and the only recipient named on its TLP:RED object."""
    collection = collection_create(
        title="Policy", readers=[lab_a, lab_b, lab_c, partner], writers=[lab_a]
    )
    lab_a.amber_strict_recipients.add(lab_b)
    for n, (level, marking) in enumerate(MARKINGS.items()):
        extra: dict = {"name": level}
        if marking:
            extra["object_marking_refs"] = [marking]
        if level == "red":
            extra["extensions"] = {
                DISTRIBUTION_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "recipients": [lab_b.identity_id],
                }
            }
        publish(lab_a, collection, indicator(lab_a.identity_id, n, **extra))
    return collection


@pytest.fixture
def served(policy: Collection, taxii_for: Callable[..., Taxii]) -> Callable[[Member], set[str]]:
    def names(member: Member) -> set[str]:
        response = taxii_for(member).get(collection_url(policy, "objects/"))
        assert response.status_code == 200, response.content
        return {obj["name"] for obj in response.json().get("objects", [])}

    return names


def test_it_serves_open_levels_to_every_reader(
    served: Callable[[Member], set[str]],
    lab_b: Member,
    lab_c: Member,
    partner: Member,
    forum: Member,
) -> None:
    for member in (lab_b, lab_c, partner, forum):
        assert served(member) >= OPEN, member


def test_it_serves_nothing_to_a_member_that_is_not_a_reader(
    policy: Collection, taxii_for: Callable[..., Taxii], forum: Member
) -> None:
    outsider = MemberFactory(name="outsider", kind="lab")
    response = taxii_for(outsider).get(collection_url(policy, "objects/"))
    assert response.status_code == 404
    assert taxii_for(outsider).get(collection_url(policy)).status_code == 404
    listed = taxii_for(outsider).get("/feed/collections/").json().get("collections", [])
    assert str(policy.id) not in {c["id"] for c in listed}


def test_it_serves_amber_strict_to_the_publisher_its_allowed_set_and_the_forum(
    served: Callable[[Member], set[str]],
    lab_a: Member,
    lab_b: Member,
    lab_c: Member,
    forum: Member,
) -> None:
    assert "amber+strict" in served(lab_a)
    assert "amber+strict" in served(lab_b)
    assert "amber+strict" in served(forum)
    assert "amber+strict" not in served(lab_c)


def test_it_never_serves_amber_strict_to_partners_unless_the_collection_allows_it(
    served: Callable[[Member], set[str]], policy: Collection, lab_a: Member, partner: Member
) -> None:
    assert "amber+strict" not in served(partner)
    lab_a.amber_strict_recipients.add(partner)
    assert "amber+strict" not in served(partner)
    policy.partners_read_amber_strict = True
    policy.save()
    assert "amber+strict" in served(partner)
    lab_a.amber_strict_recipients.remove(partner)
    assert "amber+strict" not in served(partner)


def test_it_serves_red_only_to_the_publisher_and_the_named_identities(
    served: Callable[[Member], set[str]],
    lab_a: Member,
    lab_b: Member,
    lab_c: Member,
    partner: Member,
    forum: Member,
) -> None:
    assert "red" in served(lab_a)
    assert "red" in served(lab_b)
    for member in (lab_c, partner, forum):
        assert "red" not in served(member), member


def test_it_applies_the_policy_to_every_read_endpoint(
    policy: Collection, taxii_for: Callable[..., Taxii], lab_c: Member
) -> None:
    red_id = indicator("", 5)["id"]
    taxii = taxii_for(lab_c)
    assert taxii.get(collection_url(policy, f"objects/{red_id}/")).status_code == 404
    assert taxii.get(collection_url(policy, f"objects/{red_id}/versions/")).status_code == 404
    manifest = taxii.get(collection_url(policy, "manifest/")).json()["objects"]
    assert red_id not in {record["id"] for record in manifest}
    assert len(manifest) == len(OPEN)


def test_a_plain_get_of_each_object_serves_exactly_what_the_poll_serves(
    policy: Collection,
    served: Callable[[Member], set[str]],
    taxii_for: Callable[..., Taxii],
    lab_a: Member,
    lab_b: Member,
    lab_c: Member,
    partner: Member,
    forum: Member,
) -> None:
    """A GET without parameters runs a query compiled once per member kind (the AMBER+STRICT
    allowed set as a subquery, not a list); it must decide exactly as the poll does."""
    for member in (lab_a, lab_b, lab_c, partner, forum):
        taxii = taxii_for(member)
        got = set()
        for n in range(len(MARKINGS)):
            response = taxii.get(collection_url(policy, f"objects/{indicator('', n)['id']}/"))
            assert response.status_code in (200, 404), response.content
            if response.status_code == 200:
                [obj] = response.json()["objects"]
                got.add(obj["name"])
        assert got == served(member), member
