"""The publish path: the one way STIX objects enter the exchange (REST API and TAXII POST).

Every object is validated on its own, before anything is written; the accepted ones are
then stored in one transaction while the target collection's row is locked, which gives
each collection strictly increasing ``date_added`` values in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction

from members.choices import MemberKind
from members.models import Member
from members.services import audit_record
from signatures.bulk_insert import bulk_insert
from signatures.models import (
    AnonymisedPublication,
    Collection,
    CollectionEntry,
    ObjectRecipient,
    StixObject,
)
from signatures.object_signing import PublishSigning
from signatures.sdk.constants import TLP2_EXTENSION_ID, TLP2_LEVELS
from signatures.selectors import collection_can_write, collection_default, objects_visible_to
from signatures.services.collections import PublishForbidden, entries_add
from signatures.validation import (
    ObjectRefused,
    PreparedObject,
    PublishContext,
    object_prepare,
    timestamp_parse,
)

OutcomeStatus = Literal["accepted", "present", "refused"]


#: Objects OASIS publishes and the exchange serves as they are: the TLP 2.0 markings and
#: the extension-definition they use. A member may send them along (tools bundle them) but
#: never store its own copy.
OFFICIAL_OBJECT_IDS = frozenset({*TLP2_LEVELS, TLP2_EXTENSION_ID})


@dataclass(slots=True)
class ObjectOutcome:
    index: int
    status: OutcomeStatus
    id: str | None = None
    version: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.version is not None:
            result["modified"] = self.version
        if self.reason:
            result["reason"] = self.reason
        return result


@dataclass(slots=True)
class PublishReport:
    outcomes: list[ObjectOutcome] = field(default_factory=list)
    #: The collection entries written, in date_added order.
    entries: list[CollectionEntry] = field(default_factory=list)

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.count("accepted"),
            "present": self.count("present"),
            "refused": self.count("refused"),
            "results": [outcome.as_dict() for outcome in self.outcomes],
        }


def held_extension_definitions(member: Member) -> dict[str, set[str]]:
    """extension-definition id -> extension_types, from the newest unrevoked versions that
    ``member`` may read (one it cannot read declares nothing for it, and says nothing)."""
    held: dict[str, set[str]] = {}
    rows = StixObject.objects.filter(
        type="extension-definition", pk__in=objects_visible_to(member).values("pk")
    ).latest_versions()
    for stix_id, data, revoked in rows.values_list("stix_id", "data", "revoked"):
        if not revoked:
            held[stix_id] = set(data.get("extension_types") or ())
    return held


def objects_publish(
    *,
    member: Member,
    objects: Sequence[Any],
    collection: Collection | None = None,
    via_forum: bool = False,
    forum_signs: bool = False,
) -> PublishReport:
    """Validate, sign and store ``objects`` for ``member``; one outcome per object, in order.

    A refused object never blocks the others; re-sending a stored (id, modified) is a no-op
    reported as ``present``. Each object is stored as it is served, signed
    (``signatures.object_signing``): verified if it came signed, else signed with the member's
    custodial key. ``via_forum`` re-publishes the objects anonymously as the Forum's;
    ``forum_signs`` is for objects the exchange writes itself (members' identity objects and
    the profile), the only ones that may carry a member identity or a key list.
    Ownership (docs/sharing-policy.md): a member only ever stores or links its own objects.
    """
    if not member.can_publish:
        raise PublishForbidden(f"A {member.kind} member cannot publish.")
    collection = collection or collection_default()
    if not collection_can_write(member, collection):
        raise PublishForbidden(f"You may not write to the collection {collection.id}.")

    context = PublishContext(
        publisher_identity=member.identity_id,
        extension_definitions=held_extension_definitions(member),
        member_identities=frozenset(Member.objects.values_list("identity_id", flat=True)),
        exchange_managed=forum_signs,
    )
    signing = PublishSigning(
        member=member,
        forum=Member.objects.forum(),
        via_forum=via_forum,
        forum_signs=forum_signs,
    )
    outcomes: list[ObjectOutcome | None] = [None] * len(objects)
    # A retrying client re-sends whole batches: answer stored versions before the costly
    # validation and signing. Versions are immutable, so "present" is the whole answer.
    for index, outcome in _present_in(member, collection, objects).items():
        outcomes[index] = outcome
    prepared: dict[int, PreparedObject] = {}
    keys_seen: set[tuple[str, str]] = set()
    for index, obj in enumerate(objects):
        if outcomes[index] is not None:
            continue
        try:
            item = object_prepare(
                obj,
                context=context,
                max_depth=settings.MAX_OBJECT_DEPTH,
                max_bytes=settings.MAX_OBJECT_BYTES,
            )
        except ObjectRefused as exc:
            object_id = obj.get("id") if isinstance(obj, dict) else None
            outcomes[index] = ObjectOutcome(
                index,
                "refused",
                id=object_id if isinstance(object_id, str) else None,
                reason=str(exc),
            )
            continue
        key = (item.stix_id, item.version)
        if key in keys_seen:
            outcomes[index] = _outcome(index, item, "present", "sent twice in this request")
            continue
        keys_seen.add(key)
        try:
            signing.apply(item)
        except ObjectRefused as exc:
            outcomes[index] = _outcome(index, item, "refused", str(exc))
            continue
        if item.type == "extension-definition" and not item.revoked:
            # A bundle may carry an extension-definition and the objects it declares.
            context.extension_definitions[item.stix_id] = set(  # type: ignore[index]
                item.data.get("extension_types") or ()
            )
        prepared[index] = item
    _companions_prepare(signing, context, prepared, start=len(objects))

    # A concurrent publish of the same version into another collection can win the race for
    # the (id, version) constraint; the retry then sees it as present.
    for attempt in range(3):
        try:
            stored = _store(
                member=member, collection=collection, prepared=prepared, anonymous=via_forum
            )
            break
        except IntegrityError:
            if attempt == 2:
                raise
    report = PublishReport(entries=stored.entries)
    for index, outcome in stored.outcomes.items():
        if index < len(outcomes):  # the companions are the exchange's: no outcome of theirs
            outcomes[index] = outcome
    report.outcomes = [outcome for outcome in outcomes if outcome is not None]
    return report


def _companions_prepare(
    signing: PublishSigning,
    context: PublishContext,
    prepared: dict[int, PreparedObject],
    *,
    start: int,
) -> None:
    """Add the signature notes signing made for extension-definitions (docs/signing.md
    section 12) to ``prepared``, from index ``start`` on, to be stored with them in one
    transaction. They were signed just now, so validation and verification only confirm it.
    """
    for index, note in enumerate(signing.companions, start=start):
        item = object_prepare(
            note,
            context=context,
            max_depth=settings.MAX_OBJECT_DEPTH,
            max_bytes=settings.MAX_OBJECT_BYTES,
        )
        signing.apply(item)
        prepared[index] = item


def _present_in(
    member: Member, collection: Collection, objects: Sequence[Any]
) -> dict[int, ObjectOutcome]:
    """Outcomes for the objects whose (id, version) ``member`` already has in the collection.

    Only the caller's own stored versions count: another member's version of the same id
    is none of the caller's business, and answering "present" for it would both drop the
    caller's object and confirm that the other one exists.
    """
    keys: dict[int, tuple[str, str, str | None]] = {}
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            continue
        sent = obj.get("modified", obj.get("created"))
        try:
            version = (
                timestamp_parse(sent, object_id=obj["id"], prop="modified").sortable
                if sent is not None
                else ""
            )
        except ObjectRefused:
            continue  # validation will say what is wrong with it
        keys[index] = (obj["id"], version, sent if isinstance(sent, str) else None)
    if not keys:
        return {}
    stored = set(
        CollectionEntry.objects.filter(
            collection=collection,
            stix_id__in={stix_id for stix_id, _, _ in keys.values()},
            stix_object__publisher=member,
        ).values_list("stix_id", "version")
    )
    return {
        index: ObjectOutcome(
            index, "present", id=stix_id, version=sent, reason="this version is already stored"
        )
        for index, (stix_id, version, sent) in keys.items()
        if (stix_id, version) in stored
    }


@dataclass(slots=True)
class _Stored:
    outcomes: dict[int, ObjectOutcome]
    entries: list[CollectionEntry]


def _outcome(
    index: int, item: PreparedObject, status: OutcomeStatus, reason: str = ""
) -> ObjectOutcome:
    version = item.data.get("modified") or item.data.get("created")
    return ObjectOutcome(index, status, id=item.stix_id, version=version, reason=reason)


@dataclass(frozen=True, slots=True)
class _StoredVersion:
    pk: int
    stix_id: str
    version: str
    created_by_ref: str
    publisher_id: int
    #: The member behind an anonymised version (its publisher), else None.
    hidden_publisher: int | None


class _Lineages:
    """The stored versions of the ids in one publish request, as the ownership rules see them.

    The owner of a stored version is the member that published it. An id that has a creator
    belongs to the member that first published it; only that member may store versions of
    it (through the Forum again when it was anonymised). Objects without a creator (SCOs,
    some marking and language-content objects) are kept per publisher instead.
    """

    def __init__(self, member: Member, versions: Iterable[_StoredVersion]) -> None:
        self.member = member
        # By id: a request updating a thousand objects asks about each of them in turn.
        self.versions: dict[str, list[_StoredVersion]] = {}
        for row in versions:
            self.versions.setdefault(row.stix_id, []).append(row)

    def own(self, stix_id: str, version: str) -> _StoredVersion | None:
        for row in self.versions.get(stix_id, ()):
            if (row.version, row.publisher_id) == (version, self.member.pk):
                return row
        return None

    def refusal(self, item: PreparedObject, *, anonymous: bool) -> str | None:
        """Why ``item`` may not be stored as a new version, or None if it may.

        The reasons for an id the member cannot read are returned as ``_NOT_YOURS``, the same
        text whoever holds it and however; the caller replaces it for readable ids.
        """
        rows = self.versions.get(item.stix_id, [])
        own = [row for row in rows if row.publisher_id == self.member.pk]
        foreign = [row for row in rows if row.publisher_id != self.member.pk]
        if item.created_by_ref == "":
            # Kept per publisher; only an id another member created is out of reach.
            return _NOT_YOURS if any(row.created_by_ref for row in foreign) else None
        if foreign:
            return _NOT_YOURS
        hidden = self.member.pk if anonymous else None
        for row in own:
            if row.hidden_publisher != hidden:
                return (
                    f"{item.stix_id} was published anonymously through the Forum; publish "
                    "its new versions through the Forum again"
                    if row.hidden_publisher is not None
                    else f"{item.stix_id} was published under your identity; its versions "
                    "cannot be published anonymously"
                )
            if row.created_by_ref and row.created_by_ref != item.created_by_ref:
                return (
                    f"{item.stix_id} was created by {row.created_by_ref}; the creator of an "
                    "object never changes"
                )
        return None


#: The one refusal for an id held by another member, whatever the reason: it says nothing
#: about the stored object (its creator, its versions, whether it was anonymised).
_NOT_YOURS = "{id}: this id belongs to another publisher's object; publish yours under a new id"


def _lineages_load(member: Member, stix_ids: set[str]) -> _Lineages:
    rows = StixObject.objects.filter(stix_id__in=stix_ids).values_list(
        "pk", "stix_id", "version", "created_by_ref", "publisher_id", "anonymised__member"
    )
    return _Lineages(member, (_StoredVersion(*row) for row in rows))


def _foreign_reason(member: Member, stix_id: str) -> str:
    """The refusal for another member's id: precise when the caller may read it, else blank.

    A member that can read the object learns nothing new from being told its creator (as
    served, so an anonymised object names the Forum, never the lab behind it).
    """
    creator = (
        objects_visible_to(member)
        .filter(stix_id=stix_id)
        .exclude(created_by_ref="")
        .values_list("created_by_ref", flat=True)
        .first()
    )
    if creator is None:
        return _NOT_YOURS.format(id=stix_id)
    return f"{stix_id} was created by {creator}; only its creator may publish new versions of it"


@transaction.atomic
def _store(
    *,
    member: Member,
    collection: Collection,
    prepared: dict[int, PreparedObject],
    anonymous: bool = False,
) -> _Stored:
    outcomes: dict[int, ObjectOutcome] = {}
    if not prepared:
        return _Stored(outcomes, [])
    lineages = _lineages_load(member, {item.stix_id for item in prepared.values()})
    new_objects: list[tuple[int, PreparedObject, StixObject]] = []
    own_versions: list[tuple[int, PreparedObject, int]] = []
    for index, item in prepared.items():
        if item.stix_id in OFFICIAL_OBJECT_IDS and member.kind != MemberKind.FORUM:
            # Validation let it through only with the official content, which the exchange
            # serves already: there is nothing of the member's to store.
            outcomes[index] = _outcome(index, item, "present", "the exchange serves it")
            continue
        reason = lineages.refusal(item, anonymous=anonymous)
        if reason == _NOT_YOURS:
            reason = _foreign_reason(member, item.stix_id)
        if reason is not None:
            outcomes[index] = _outcome(index, item, "refused", reason)
            continue
        own = lineages.own(item.stix_id, item.version)
        if own is not None:
            own_versions.append((index, item, own.pk))
            continue
        try:
            raw = orjson.dumps(item.data).decode()
        except orjson.JSONEncodeError as exc:
            outcomes[index] = _outcome(index, item, "refused", f"{item.stix_id}: {exc}")
            continue
        new_objects.append((index, item, _stix_object(member, item, raw)))

    # New versions are stored before the collection is locked, so that publishers into one
    # collection store theirs in parallel. Two requests storing the same version race for
    # the (id, version) constraints, and the loser's retry finds it stored.
    created = bulk_insert([row for _, _, row in new_objects])
    if anonymous:
        _anonymised_record(member, created)
    bulk_insert(
        [
            ObjectRecipient(stix_object=row, identity_id=recipient)
            for (_, item, _), row in zip(new_objects, created, strict=True)
            for recipient in item.recipients
        ]
    )
    # The lock is held to commit, and taken as late as possible: from here no other publish
    # adds to this collection, so what is in it stays true below, and date_added follows
    # commit order (entries_add).
    locked = Collection.objects.select_for_update().get(pk=collection.pk)
    in_collection = set(
        CollectionEntry.objects.filter(
            collection=locked, stix_object_id__in=[pk for _, _, pk in own_versions]
        ).values_list("stix_object_id", flat=True)
    )
    linked: list[tuple[int, PreparedObject, int]] = []
    for index, item, pk in own_versions:
        if pk in in_collection:
            outcomes[index] = _outcome(index, item, "present", "this version is already stored")
        else:
            linked.append((index, item, pk))
    to_link = [
        (index, item, row.pk) for (index, item, _), row in zip(new_objects, created, strict=True)
    ]
    to_link += linked
    to_link.sort(key=lambda link: link[0])
    entries = entries_add(locked, [(item, pk, member.pk) for _, item, pk in to_link])
    for index, item, _ in to_link:
        outcomes[index] = _outcome(index, item, "accepted")
    return _Stored(outcomes, entries)


def _anonymised_record(member: Member, rows: Sequence[StixObject]) -> None:
    """Remember, for Forum analysts only, which member is behind anonymised objects."""
    AnonymisedPublication.objects.bulk_create(
        AnonymisedPublication(stix_object=row, member=member) for row in rows
    )
    for row in rows:
        audit_record(
            action="object-publish-anonymised",
            target=row.stix_id,
            actor_member=member,
            after={"version": row.version, "type": row.type},
        )


def _stix_object(member: Member, item: PreparedObject, raw: str) -> StixObject:
    return StixObject(
        stix_id=item.stix_id,
        type=item.type,
        spec_version=item.spec_version,
        version=item.version,
        modified=item.modified,
        created_by_ref=item.created_by_ref,
        revoked=item.revoked,
        tlp=item.tlp,
        raw=raw,
        data=item.data,
        publisher=member,
    )
