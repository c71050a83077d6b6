"""Changes to a collection's grants and settings: checked and audited, whoever makes them.

The console, the admin and the command line all change collections through these
functions, so one set of checks applies (TAXII 2.1 section 5.2: ``can_read`` and
``can_write`` are what these grants decide) and every change lands in the audit log
(``members.services.audit_record``). Creation itself is ``signatures.services
.collection_create``; ``collection_create_record`` writes its audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from members.models import Member
from members.services import audit_record
from signatures.models import Collection

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


def collection_create_record(
    *,
    collection: Collection,
    actor_member: Member | None = None,
    actor_user: User | None = None,
    note: str = "",
) -> None:
    """The audit event of a collection just made with ``collection_create``."""
    audit_record(
        action="collection-create",
        target=str(collection.pk),
        actor_member=actor_member,
        actor_user=actor_user,
        after={
            **_collection_state(collection),
            "readers": sorted(collection.readers.values_list("name", flat=True)),
            "writers": sorted(collection.writers.values_list("name", flat=True)),
        },
        note=note,
    )


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
