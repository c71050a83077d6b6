"""Reads with visibility: which collections and which objects a member may see.

This module is the one home of the exchange's sharing policy (docs/sharing-policy.md).
The REST API, the TAXII server and the fan-out all filter through
:func:`entries_visible_to`, so an object is never pushed to a subscriber that could not
read it over TAXII.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar, cast

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_stubs_ext import WithAnnotations

from members.choices import MemberKind
from members.models import Member
from signatures.choices import TlpLevel, tlp_levels_within
from signatures.models import Collection, CollectionEntry, ObjectRecipient, StixObject
from signatures.validation import timestamp_parse


def collection_default() -> Collection:
    """The collection the REST publish API writes to."""
    return Collection.objects.default()


def collections_readable_by(member: Member) -> QuerySet[Collection]:
    if member.kind == MemberKind.FORUM:
        return Collection.objects.all()
    return Collection.objects.filter(readers=member)


def collections_writable_by(member: Member) -> QuerySet[Collection]:
    if not member.can_publish:
        return Collection.objects.none()
    return Collection.objects.filter(writers=member)


def collection_can_write(member: Member, collection: Collection) -> bool:
    return collections_writable_by(member).filter(pk=collection.pk).exists()


class CollectionPermissions(TypedDict):
    """The caller's ``can_read`` / ``can_write`` of a collection (TAXII 2.1 section 5.2.1)."""

    can_read: bool
    can_write: bool


def collections_visible_to(
    member: Member,
) -> QuerySet[WithAnnotations[Collection, CollectionPermissions]]:
    """Collections whose existence ``member`` may learn: those it may read or write.

    TAXII 2.1 section 5.2 allows write-only collections (can_read false, can_write true);
    every other collection answers 404, so its existence does not leak. Each carries the
    member's ``can_read`` and ``can_write``, from the same rules as ``collections_readable_by``
    and ``collections_writable_by``, so that one query answers both whether the collection
    exists for the caller and what it may do with it.
    """
    here = OuterRef("pk")
    visible = Collection.objects.annotate(
        can_read=Exists(collections_readable_by(member).filter(pk=here)),
        can_write=Exists(collections_writable_by(member).filter(pk=here)),
    ).filter(Q(can_read=True) | Q(can_write=True))
    # The stubs infer an anonymous TypedDict for the annotations; name it for the callers.
    return cast("QuerySet[WithAnnotations[Collection, CollectionPermissions]]", visible)


def entries_visible_to(
    member: Member, entries: QuerySet[CollectionEntry], *, allowed_set_listed: bool = True
) -> QuerySet[CollectionEntry]:
    """Narrow collection entries to those ``member`` may be served.

    - TLP:CLEAR, TLP:GREEN, TLP:AMBER and unmarked objects (read as TLP:AMBER,
      ``signatures.choices``): every reader of the collection.
    - TLP:AMBER+STRICT: the publishing organisation, the members it named as its allowed
      set, and the Forum; partners only where the collection's policy allows it.
    - TLP:RED: the publishing organisation and the identities the object names in its
      distribution extension, nobody else (the Forum included).
    A member always sees what it published itself.
    """
    own = Q(stix_object__created_by_ref=member.identity_id) | Q(stix_object__publisher=member)
    open_levels = Q(stix_object__tlp__in=tlp_levels_within(TlpLevel.AMBER))

    if member.kind == MemberKind.FORUM:
        strict_reader = Q()
    else:
        allowed_by = Member.objects.filter(amber_strict_recipients=member).values("identity_id")
        # Listed (read here, a short list) by default: as a subquery its cost is charged to
        # every row and steers PostgreSQL away from the ordered index scan that keyset pages
        # rely on. A query compiled once for many requests (members/statements.py)
        # must not read anything while it is built, and keeps the subquery.
        strict_reader = Q(
            stix_object__created_by_ref__in=(
                list(allowed_by.values_list("identity_id", flat=True))
                if allowed_set_listed
                else allowed_by
            )
        )
    if member.kind == MemberKind.PARTNER:
        # A subquery inside the OR is evaluated once (hashed); a join to the collection
        # would be made for every entry served.
        open_to_partners = Collection.objects.filter(partners_read_amber_strict=True)
        strict_reader &= Q(collection__in=open_to_partners.values("pk"))
    amber_strict = Q(stix_object__tlp=TlpLevel.AMBER_STRICT) & strict_reader

    named = ObjectRecipient.objects.filter(
        stix_object=OuterRef("stix_object"), identity_id=member.identity_id
    )
    red = Q(stix_object__tlp=TlpLevel.RED) & Q(Exists(named))

    readable = collections_readable_by(member).values("pk")
    return entries.filter(collection__in=readable).filter(own | open_levels | amber_strict | red)


def partners_may_be_served(*, tlp: str, collection: Collection) -> bool:
    """Whether ``collection`` serves an object of TLP level ``tlp`` to its partner readers.

    The rule of :func:`entries_visible_to` for a partner reader that did not publish the
    object, asked before the object is in the collection (the console asks it before
    releasing to the partner feed): open levels (unmarked included) yes; TLP:AMBER+STRICT
    only where the collection's policy allows it, and then to the partners the publisher
    lists in its allowed set; TLP:RED never, since it reaches only the identities an object
    names itself, not partners as such.
    """
    if tlp in tlp_levels_within(TlpLevel.AMBER):
        return True
    return tlp == TlpLevel.AMBER_STRICT and collection.partners_read_amber_strict


def objects_visible_to(member: Member) -> QuerySet[StixObject]:
    """Object versions ``member`` may read in at least one collection."""
    visible = entries_visible_to(member, CollectionEntry.objects.filter(stix_object=OuterRef("pk")))
    return StixObject.objects.filter(Exists(visible))


@dataclass(slots=True)
class Corroboration:
    """What other labs' sightings say about one object (docs/console.md, docs/api.md).

    ``labs`` are the sightings' creators (``created_by_ref``, so a sighting shared through
    the Forum counts as the Forum's and does not name its lab); ``publishers`` are the
    members that sent them, for the Forum's console only. ``sightings`` counts sighting
    objects, ``count`` adds up their ``count`` properties, each at its newest version.
    """

    labs: set[str] = field(default_factory=set)
    publishers: set[int] = field(default_factory=set)
    sightings: int = 0
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None


def _instant(text: str) -> str:
    """A stored timestamp's sortable form: compare instants, not strings ("…00.1Z" and
    "…00.100Z" are the same instant, STIX 2.1 section 3.2)."""
    return timestamp_parse(text, object_id="sighting", prop="first_seen").sortable


#: Values per IN list: well under SQLite's 32,766 bound parameters, and short enough that
#: PostgreSQL plans each list as the few index lookups it is.
_IDS_PER_QUERY = 10_000
_Value = TypeVar("_Value")


def _batches(values: Sequence[_Value]) -> Iterator[Sequence[_Value]]:
    for start in range(0, len(values), _IDS_PER_QUERY):
        yield values[start : start + _IDS_PER_QUERY]


def sightings_corroborating(
    member: Member, objects: Sequence[StixObject]
) -> dict[str, Corroboration]:
    """For each object, the sightings of it by labs other than its publisher that
    ``member`` may read: the one rule of sighting corroboration, for the console and the
    REST API alike.

    A lab reports growing counts as new versions of the same sighting (same id, later
    ``modified``), so each sighting counts once, at its newest version ``member`` may read.
    A lab's sighting of its own object corroborates nothing.
    """
    publisher_of = {obj.stix_id: obj.publisher_id for obj in objects}
    # Two steps: the sighting_of_ref index finds the few sightings, then the sharing policy
    # is asked about those rows only. In one query PostgreSQL cannot tell how few rows the
    # list of ids matches, and applies the policy to every entry of the pool first.
    candidates: list[int] = []
    for ids in _batches(list(publisher_of)):
        candidates += StixObject.objects.filter(
            type="sighting", data__sighting_of_ref__in=ids
        ).values_list("pk", flat=True)
    newest: dict[str, StixObject] = {}
    sightings = (
        sighting
        for pks in _batches(candidates)
        for sighting in objects_visible_to(member)
        .filter(pk__in=pks)
        .only("stix_id", "version", "publisher", "created_by_ref", "data")
    )
    for sighting in sightings:
        if sighting.publisher_id == publisher_of[sighting.data["sighting_of_ref"]]:
            continue
        held = newest.get(sighting.stix_id)
        if held is None or held.version < sighting.version:
            newest[sighting.stix_id] = sighting
    found: dict[str, Corroboration] = {stix_id: Corroboration() for stix_id in publisher_of}
    for sighting in newest.values():
        data = sighting.data
        summary = found[data["sighting_of_ref"]]
        summary.labs.add(sighting.created_by_ref)
        summary.publishers.add(sighting.publisher_id)
        summary.sightings += 1
        summary.count += data.get("count", 0) if isinstance(data.get("count"), int) else 0
        first, last = data.get("first_seen"), data.get("last_seen")
        if isinstance(first, str) and (
            summary.first_seen is None or _instant(first) < _instant(summary.first_seen)
        ):
            summary.first_seen = first
        if isinstance(last, str) and (
            summary.last_seen is None or _instant(last) > _instant(summary.last_seen)
        ):
            summary.last_seen = last
    return found
