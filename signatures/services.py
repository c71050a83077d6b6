"""The publish path: the one way STIX objects enter the exchange (REST API and TAXII POST).

Every object is validated on its own, before anything is written; the accepted ones are
then stored in one transaction while the target collection's row is locked, which gives
each collection strictly increasing ``date_added`` values in commit order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any, Literal

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from exchange.fanout.services import outbox_record
from members.choices import MemberKind
from members.models import Member
from members.selectors import member_jwks
from members.services import audit_record
from signatures.models import (
    STIX_MEDIA_TYPE,
    AnonymisedPublication,
    Collection,
    CollectionEntry,
    ObjectRecipient,
    StixObject,
)
from signatures.sdk.constants import SIGNING_EXTENSION_ID, TLP2_EXTENSION_ID, TLP2_LEVELS
from signatures.sdk.jss import format_timestamp
from signatures.sdk.profile import load_profile
from signatures.selectors import collection_can_write, collection_default, objects_visible_to
from signatures.signing import PublishSigning, without_signatures
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


class PublishForbidden(Exception):
    """The member may not publish into this collection at all."""


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
    (``signatures.signing``): verified if it came signed, else signed with the member's
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


@dataclass(slots=True)
class _Lineages:
    """The stored versions of the ids in one publish request, as the ownership rules see them.

    The owner of a stored version is the member that published it. An id that has a creator
    belongs to the member that first published it; only that member may store versions of
    it (through the Forum again when it was anonymised). Objects without a creator (SCOs,
    some marking and language-content objects) are kept per publisher instead.
    """

    member: Member
    versions: list[_StoredVersion]

    def own(self, stix_id: str, version: str) -> _StoredVersion | None:
        for row in self.versions:
            if (row.stix_id, row.version, row.publisher_id) == (stix_id, version, self.member.pk):
                return row
        return None

    def refusal(self, item: PreparedObject, *, anonymous: bool) -> str | None:
        """Why ``item`` may not be stored as a new version, or None if it may.

        The reasons for an id the member cannot read are returned as ``_NOT_YOURS``, the same
        text whoever holds it and however; the caller replaces it for readable ids.
        """
        rows = [row for row in self.versions if row.stix_id == item.stix_id]
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
    return _Lineages(member, [_StoredVersion(*row) for row in rows])


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
    # Lock first: from here on no other publish can add to this collection, so the
    # existence checks below stay true until commit and date_added follows commit order.
    locked = Collection.objects.select_for_update().get(pk=collection.pk)
    lineages = _lineages_load(member, {item.stix_id for item in prepared.values()})
    in_collection = set(
        CollectionEntry.objects.filter(
            collection=locked, stix_object_id__in=[row.pk for row in lineages.versions]
        ).values_list("stix_object_id", flat=True)
    )

    new_objects: list[tuple[int, PreparedObject, StixObject]] = []
    linked: list[tuple[int, PreparedObject, int]] = []
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
            if own.pk in in_collection:
                outcomes[index] = _outcome(index, item, "present", "this version is already stored")
            else:
                linked.append((index, item, own.pk))
            continue
        try:
            raw = orjson.dumps(item.data).decode()
        except orjson.JSONEncodeError as exc:
            outcomes[index] = _outcome(index, item, "refused", f"{item.stix_id}: {exc}")
            continue
        new_objects.append((index, item, _stix_object(member, item, raw)))

    created = StixObject.objects.bulk_create([row for _, _, row in new_objects])
    if anonymous:
        _anonymised_record(member, created)
    ObjectRecipient.objects.bulk_create(
        ObjectRecipient(stix_object=row, identity_id=recipient)
        for (_, item, _), row in zip(new_objects, created, strict=True)
        for recipient in item.recipients
    )
    to_link = [
        (index, item, row.pk) for (index, item, _), row in zip(new_objects, created, strict=True)
    ]
    to_link += linked
    to_link.sort(key=lambda link: link[0])
    entries = _entries_add(locked, [(item, pk, member.pk) for _, item, pk in to_link])
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


def _entries_add(
    collection: Collection, items: Iterable[tuple[PreparedObject | StixObject, int, int]]
) -> list[CollectionEntry]:
    """Add object versions (item, stored pk, publisher pk) to a locked collection, keeping
    is_latest / is_first exact."""
    now = timezone.now()
    entries: list[tuple[CollectionEntry, int]] = [
        (
            CollectionEntry(
                collection=collection,
                stix_object_id=pk,
                date_added=collection.next_date_added(now),
                stix_id=item.stix_id,
                type=item.type,
                version=item.version,
                spec_version=item.spec_version,
            ),
            publisher_id,
        )
        for item, pk, publisher_id in items
    ]
    if not entries:
        return []
    _entry_flags_settle(collection, {entry.stix_id for entry, _ in entries}, new=entries)
    created = CollectionEntry.objects.bulk_create([entry for entry, _ in entries])
    collection.save(update_fields=["last_date_added"])
    # Same transaction as the entries: an accepted object is never missed by the fan-out.
    outbox_record(entries=created)
    return created


def _entry_flags_settle(
    collection: Collection,
    stix_ids: set[str],
    *,
    new: Sequence[tuple[CollectionEntry, int]] = (),
) -> None:
    """Make is_latest / is_first exact for ``stix_ids`` in a locked collection.

    The one place the flags are computed, after an add (``new`` entries with their
    publishers, not yet saved, get theirs in memory) and after a removal. Within each
    lineage (an id and the member that published it: objects without a creator are kept per
    publisher) the newest version by ``version`` is the latest, the oldest the first;
    unversioned objects have a single entry per lineage, both at once.
    """
    by_lineage: dict[tuple[str, int], list[CollectionEntry]] = defaultdict(list)
    stored = (
        CollectionEntry.objects.filter(collection=collection, stix_id__in=stix_ids)
        .select_related("stix_object")
        .only("pk", "stix_id", "version", "is_latest", "is_first", "stix_object__publisher")
    )
    for entry in stored:
        by_lineage[(entry.stix_id, entry.stix_object.publisher_id)].append(entry)
    for entry, publisher_id in new:
        by_lineage[(entry.stix_id, publisher_id)].append(entry)

    changes: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for versions in by_lineage.values():
        newest = max(versions, key=lambda e: e.version)
        oldest = min(versions, key=lambda e: e.version)
        for entry in versions:
            latest, first = entry is newest, entry is oldest
            if entry.pk is None:
                entry.is_latest, entry.is_first = latest, first
                continue
            if entry.is_latest != latest:
                changes[("is_latest", latest)].append(entry.pk)
            if entry.is_first != first:
                changes[("is_first", first)].append(entry.pk)
    for (flag, value), pks in changes.items():
        CollectionEntry.objects.filter(pk__in=pks).update(**{flag: value})


@transaction.atomic
def collection_objects_add(
    *, member: Member, collection: Collection, stix_ids: Iterable[str]
) -> list[CollectionEntry]:
    """Add every stored version of ``stix_ids`` to ``collection``; the entries written.

    For curation (the Forum releasing members' objects to the partner feed): versions
    already in the collection are skipped, the others get new date_added values there
    (TAXII 2.1 section 5.4) and go to the fan-out. Visibility is still applied on read.
    """
    if not collection_can_write(member, collection):
        raise PublishForbidden(f"You may not write to the collection {collection.id}.")
    ids = set(stix_ids)
    locked = Collection.objects.select_for_update().get(pk=collection.pk)
    present = CollectionEntry.objects.filter(collection=locked, stix_id__in=ids)
    # Only versions the member may itself be served somewhere: adding an entry must never
    # make the exchange serve what the member could not read (a TLP:RED object it is not
    # named in, say).
    rows = (
        objects_visible_to(member)
        .filter(stix_id__in=ids)
        .exclude(pk__in=present.values("stix_object_id"))
        .order_by("stix_id", "version")
    )
    return _entries_add(locked, [(row, row.pk, row.publisher_id) for row in rows])


@transaction.atomic
def collection_entries_remove(
    *, member: Member, collection: Collection, entries: QuerySet[CollectionEntry]
) -> int:
    """Remove object versions from a collection (TAXII 2.1 section 5.7); the count removed.

    Only a writer of the collection may, and only for objects it created or published,
    except the Forum, which moderates every collection. The stored versions stay (they may
    be in other collections, and (id, modified) stays taken); republishing one adds it back.
    """
    if not collection_can_write(member, collection):
        raise PublishForbidden(f"You may not write to the collection {collection.id}.")
    locked = Collection.objects.select_for_update().get(pk=collection.pk)
    rows = list(
        entries.filter(collection=locked).values_list(
            "pk", "stix_id", "stix_object__created_by_ref", "stix_object__publisher"
        )
    )
    if member.kind != MemberKind.FORUM:
        foreign = sorted(
            {
                stix_id
                for _, stix_id, creator, publisher in rows
                if creator != member.identity_id and publisher != member.pk
            }
        )
        if foreign:
            raise PublishForbidden(
                f"Only the creator of {', '.join(foreign)} or the Forum may delete it."
            )
    CollectionEntry.objects.filter(pk__in=[row[0] for row in rows]).delete()
    _entry_flags_settle(locked, {row[1] for row in rows})
    return len(rows)


def profile_publish(*, forum: Member) -> PublishReport:
    """Publish, as the Forum, its identity, the official TLP 2.0 markings and the
    distillation profile's extension definitions (idempotent: stored ones are present).
    """
    profile = load_profile()
    markings = json.loads(
        resources.files("signatures").joinpath("profile/markings/tlp-2.0.json").read_text()
    )
    objects = [profile.forum_identity, *markings, *profile.extension_definitions.values()]
    # The Forum's identity is a member identity: only the exchange itself may write it.
    return objects_publish(member=forum, objects=objects, forum_signs=True)


def identity_publish(*, member: Member) -> PublishReport:
    """Publish (a new version of) the member's own STIX identity object.

    The identity carries the member's public keys (the JWK Set of
    ``/api/v1/members/<id>/jwks.json``) in the signing extension's ``keys`` and is signed by
    the Forum, which vouches for that key list (docs/signing.md section 11).
    """
    previous = StixObject.objects.filter(stix_id=member.identity_id).order_by("-version").first()
    moment = timezone.now()
    if previous is not None and previous.modified is not None and moment <= previous.modified:
        # Two key changes within one millisecond must still make two versions.
        moment = previous.modified + timedelta(milliseconds=1)
    now = format_timestamp(moment)
    identity: dict[str, Any] = (
        without_signatures(previous.data)
        if previous is not None
        else {
            "type": "identity",
            "spec_version": "2.1",
            "id": member.identity_id,
            "created": now,
            "created_by_ref": member.identity_id,
            "name": member.display_name,
            "identity_class": "organization",
            "sectors": ["technology"],
            "description": f"AI-ISAC Exchange member ({member.kind}).",
        }
    )
    identity["modified"] = now
    keys = member_jwks(member)["keys"]
    if keys:
        identity["extensions"] = {
            **identity.get("extensions", {}),
            SIGNING_EXTENSION_ID: {"extension_type": "property-extension", "keys": keys},
        }
    if member.can_publish:
        return objects_publish(member=member, objects=[identity], forum_signs=True)
    # Partners cannot publish, so the Forum publishes their identity objects.
    forum = Member.objects.forum()
    identity["created_by_ref"] = forum.identity_id
    return objects_publish(member=forum, objects=[identity], forum_signs=True)


@transaction.atomic
def collection_create(
    *,
    title: str,
    readers: Sequence[Member],
    writers: Sequence[Member],
    api_root: str = "feed",
    description: str = "",
    alias: str = "",
    partners_read_amber_strict: bool = False,
) -> Collection:
    """Create a TAXII collection (TAXII 2.1 section 5.2) and grant its readers and writers.

    Partners are read-only, so none may be a writer; the API root must be one the server
    serves (settings.TAXII_API_ROOTS), or the collection would be unreachable.
    """
    if api_root not in settings.TAXII_API_ROOTS:
        served = ", ".join(settings.TAXII_API_ROOTS)
        raise ValidationError(f"API root {api_root!r} is not served (TAXII_API_ROOTS: {served}).")
    read_only = sorted(member.name for member in writers if not member.can_publish)
    if read_only:
        raise ValidationError(f"Read-only members cannot be writers: {', '.join(read_only)}.")
    collection = Collection(
        title=title,
        api_root=api_root,
        description=description,
        alias=alias,
        partners_read_amber_strict=partners_read_amber_strict,
        media_types=[STIX_MEDIA_TYPE],
    )
    collection.full_clean()
    collection.save()
    collection.readers.set(readers)
    collection.writers.set(writers)
    return collection
