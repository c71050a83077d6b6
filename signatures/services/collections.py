"""Collections and what is in them: creating one, its grants and settings, adding and removing
object versions. Every change to a collection is checked and audited here, whatever the entry
point (console, admin, command line).

``entries_add`` is the one place an object version enters a collection, for the publish path
and for curation alike: it keeps the collection's ``date_added`` strictly increasing, the
``is_latest`` / ``is_first`` flags exact, and writes the fan-out's outbox in the same
transaction (TAXII 2.1 sections 5.2, 5.4 and 5.7).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from members.choices import MemberKind
from members.models import Member
from members.services import audit_record
from signatures.bulk_insert import bulk_insert
from signatures.models import STIX_MEDIA_TYPE, Collection, CollectionEntry, OutboxEntry, StixObject
from signatures.selectors import collection_can_write, objects_visible_to
from signatures.signals import outbox_filled
from signatures.validation import PreparedObject


class PublishForbidden(Exception):
    """The member may not publish into this collection at all."""


def entries_add(
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
    entry_flags_settle(collection, {entry.stix_id for entry, _ in entries}, new=entries)
    created = bulk_insert([entry for entry, _ in entries])
    collection.save(update_fields=["last_date_added"])
    # Same transaction as the entries: an accepted object is never missed by the fan-out.
    bulk_insert([OutboxEntry(collection_entry=entry, created_at=now) for entry in created])
    transaction.on_commit(lambda: outbox_filled.send(sender=OutboxEntry))
    return created


def entry_flags_settle(
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
    return entries_add(locked, [(row, row.pk, row.publisher_id) for row in rows])


@transaction.atomic
def collection_entries_remove(
    *, member: Member, collection: Collection, entries: QuerySet[CollectionEntry]
) -> int:
    """Remove object versions from a collection (TAXII 2.1 section 5.7); the count removed.

    Only a writer of the collection may, and only for objects it created or published,
    except the Forum, which moderates every collection. The stored versions stay (they may
    be in other collections, and (id, modified) stays taken); republishing one adds it back.
    A removal is audited: it takes objects out of every reader's feed.
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
    removed_ids = {row[1] for row in rows}
    entry_flags_settle(locked, removed_ids)
    if rows:
        audit_record(
            action="collection-entries-remove",
            target=str(locked.pk),
            actor_member=member,
            after={"objects": sorted(removed_ids), "versions": len(rows)},
        )
    return len(rows)


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
    actor_member: Member | None = None,
    actor_user: User | None = None,
    note: str = "",
) -> Collection:
    """Create a TAXII collection (TAXII 2.1 section 5.2), grant its readers and writers, and
    audit it, whoever asks (console, admin, command line).

    Partners are read-only, so none may be a writer; the API root must be one the server
    serves (settings.TAXII_API_ROOTS), or the collection would be unreachable.
    """
    api_root_check(api_root)
    writers_check(writers)
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
    audit_record(
        action="collection-create",
        target=str(collection.pk),
        actor_member=actor_member,
        actor_user=actor_user,
        after={
            **_collection_state(collection),
            "readers": sorted(member.name for member in readers),
            "writers": sorted(member.name for member in writers),
        },
        note=note,
    )
    return collection


# --- Grants and settings ----------------------------------------------------------------------

GRANT_ROLES = ("reader", "writer")

#: The settings of a collection collection_update may change (not its id or its grants).
COLLECTION_FIELDS = ("title", "description", "alias", "api_root", "partners_read_amber_strict")


def api_root_check(api_root: str) -> None:
    """A collection under an API root the server does not serve would be unreachable."""
    if api_root not in settings.TAXII_API_ROOTS:
        served = ", ".join(settings.TAXII_API_ROOTS)
        raise ValidationError(f"API root {api_root!r} is not served (TAXII_API_ROOTS: {served}).")


def writers_check(writers: Sequence[Member]) -> None:
    """Read-only members (partners) are never writers."""
    read_only = sorted(member.name for member in writers if not member.can_publish)
    if read_only:
        raise ValidationError(f"Read-only members cannot be writers: {', '.join(read_only)}.")


def _collection_state(collection: Collection) -> dict[str, Any]:
    return {name: getattr(collection, name) for name in COLLECTION_FIELDS}


@transaction.atomic
def collection_grant_set(
    *,
    collection: Collection,
    member: Member,
    role: str,
    granted: bool,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> bool:
    """Grant or withdraw a member's read or write access to a collection; True if it
    changed. Read-only members (partners) are never writers."""
    if role not in GRANT_ROLES:
        raise ValidationError(f"role is one of {', '.join(GRANT_ROLES)}")
    if role == "writer" and granted:
        writers_check([member])
    relation = collection.readers if role == "reader" else collection.writers
    had = relation.filter(pk=member.pk).exists()
    if had == granted:
        return False
    if granted:
        relation.add(member)
    else:
        relation.remove(member)
    audit_record(
        action=f"collection-{role}-{'grant' if granted else 'withdraw'}",
        target=str(collection.pk),
        actor_member=actor_member,
        actor_user=actor_user,
        before={"member": member.name, role: had},
        after={"member": member.name, role: granted},
        note=collection.title,
    )
    return True


@transaction.atomic
def collection_grants_set(
    *,
    collection: Collection,
    readers: Sequence[Member],
    writers: Sequence[Member],
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> None:
    """Make the readers and writers exactly these: one checked, audited change per member
    whose access differs (a form that edits the whole list, like the admin's)."""
    for role, wanted, relation in (
        ("reader", readers, collection.readers),
        ("writer", writers, collection.writers),
    ):
        current = set(relation.all())
        for member in sorted(current.symmetric_difference(wanted), key=lambda m: m.name):
            collection_grant_set(
                collection=collection,
                member=member,
                role=role,
                granted=member in wanted,
                actor_member=actor_member,
                actor_user=actor_user,
            )


@transaction.atomic
def collection_update(
    *,
    collection: Collection,
    actor_member: Member | None = None,
    actor_user: User | None = None,
    **fields: Any,
) -> Collection:
    """Change a collection's title, description, alias, API root or AMBER+STRICT rule.

    Moving it to another API root changes its TAXII URL for every reader, so the new root
    must be one the server serves.
    """
    unknown = sorted(set(fields) - set(COLLECTION_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(unknown)}.")
    collection = Collection.objects.select_for_update().get(pk=collection.pk)
    before = _collection_state(collection)
    if "api_root" in fields:
        api_root_check(fields["api_root"])
    for name, value in fields.items():
        setattr(collection, name, value)
    collection.full_clean()
    after = _collection_state(collection)
    changed = [name for name in COLLECTION_FIELDS if before[name] != after[name]]
    if not changed:
        return collection
    collection.save(update_fields=changed)
    audit_record(
        action="collection-update",
        target=str(collection.pk),
        actor_member=actor_member,
        actor_user=actor_user,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
        note=collection.title,
    )
    return collection
