"""The STIX objects the Forum writes from the console: notes, opinions, campaigns and the
relationships that link objects to them.

They are built by :func:`forum_object_build` and go through
``signatures.services.objects_publish``, the one publish path, so they are signed and fanned
out like any member's (docs/console.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from exchange.console.selectors import forum_member, visible_latest, visible_objects
from members.models import Member
from members.services import audit_record
from signatures.choices import UNMARKED_IS, TlpLevel, tlp_rank
from signatures.models import StixObject
from signatures.sdk import jss
from signatures.sdk.constants import TLP2_BY_LEVEL
from signatures.services import objects_publish


def forum_object_build(
    object_type: str, *, forum: Member, markings: list[str], **properties: Any
) -> dict[str, Any]:
    """A new STIX 2.1 object of ``object_type`` created now by the Forum.

    The common properties every object the Forum writes carries (STIX 2.1 section 3.2): a
    fresh UUIDv4 id, ``created`` and ``modified`` in the exchange's millisecond form, the
    Forum as ``created_by_ref`` and the given ``object_marking_refs``; ``properties`` are the
    type's own.
    """
    now = jss.format_timestamp(timezone.now())
    return {
        "type": object_type,
        "spec_version": "2.1",
        "id": f"{object_type}--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "created_by_ref": forum.identity_id,
        **properties,
        "object_marking_refs": markings,
    }


def marking_like(obj: StixObject) -> list[str]:
    """Marking refs for an object the Forum writes about ``obj``: at least as restrictive
    as ``obj`` itself, so a note never reveals more widely what it comments on. An unmarked
    object is shared as UNMARKED_IS (TLP:AMBER), so that is what a note about it carries."""
    return [TLP2_BY_LEVEL[obj.tlp or UNMARKED_IS]]


def forum_objects_publish(*, forum: Member, objects: list[dict[str, Any]]) -> list[StixObject]:
    """Publish objects the Forum writes; refuse the action if any is refused."""
    report = objects_publish(member=forum, objects=objects)
    refused = [outcome.reason for outcome in report.outcomes if outcome.status == "refused"]
    if refused:
        raise ValidationError(f"The exchange refused the Forum's object: {'; '.join(refused)}")
    ids = [str(obj["id"]) for obj in objects]
    return list(StixObject.objects.filter(stix_id__in=ids).order_by("pk"))


def object_note_add(*, stix_id: str, user: User, content: str, abstract: str = "") -> StixObject:
    """Publish a Forum ``note`` (STIX 2.1 section 4.11) about the object, marked at least as
    restrictively as the object. Notes are shared STIX, seen by whoever may read them."""
    return objects_note_add(stix_ids=[stix_id], user=user, content=content, abstract=abstract)


@transaction.atomic
def objects_note_add(
    *, stix_ids: Sequence[str], user: User, content: str, abstract: str = ""
) -> StixObject:
    """Publish one Forum ``note`` about several objects (``object_refs`` names them all,
    STIX 2.1 section 4.11), marked as restrictively as the most restricted of them; the
    audit log gets one event per object."""
    if not content.strip():
        raise ValidationError("A note needs some content.")
    ids = list(dict.fromkeys(stix_ids))
    if not ids:
        raise ValidationError("Select at least one object.")
    forum = forum_member()
    targets = [visible_latest(forum, stix_id) for stix_id in ids]
    strictest = max(targets, key=lambda target: tlp_rank(target.tlp))
    extra = {"abstract": abstract.strip()} if abstract.strip() else {}
    note = forum_object_build(
        "note",
        forum=forum,
        markings=marking_like(strictest),
        content=content.strip(),
        authors=[user.get_username()],
        object_refs=ids,
        **extra,
    )
    (stored,) = forum_objects_publish(forum=forum, objects=[note])
    for stix_id in ids:
        audit_record(
            action="note-publish",
            target=stix_id,
            actor_member=forum,
            actor_user=user,
            after={"note": stored.stix_id, "abstract": note.get("abstract", "")},
        )
    return stored


def campaigns_linkable() -> list[StixObject]:
    """The campaign objects the Forum may see (newest version of each), by name: its own
    and the labs'. The Forum publishes the relationship, whoever created the campaign."""
    forum = forum_member()
    campaigns = visible_objects(forum).filter(type="campaign").latest_versions()
    return sorted(
        campaigns.select_related("publisher"),
        key=lambda c: (str(c.data.get("name", "")).lower(), c.stix_id),
    )


@transaction.atomic
def object_campaign_link(
    *,
    stix_id: str,
    user: User,
    campaign: str = "",
    new_campaign: str = "",
) -> StixObject:
    """Link the object to a ``campaign`` the Forum may see (STIX 2.1 section 4.4), or to a
    new Forum campaign when one is named.

    The Forum publishes the relationship (section 5.1): an indicator ``indicates`` the
    campaign; any other object is ``related-to`` it.
    """
    forum = forum_member()
    target = visible_latest(forum, stix_id)
    if target.type in ("relationship", "sighting"):
        raise ValidationError(
            "A relationship cannot start from a sighting or a relationship (STIX 2.1 section "
            "5.1); link the object it is about instead."
        )
    to_publish: list[dict[str, Any]] = []
    campaign_id = campaign
    if new_campaign.strip():
        created = forum_object_build(
            "campaign",
            forum=forum,
            markings=[TLP2_BY_LEVEL[TlpLevel.AMBER]],
            name=new_campaign.strip(),
        )
        campaign_id = created["id"]
        to_publish.append(created)
    elif campaign_id not in {c.stix_id for c in campaigns_linkable()}:
        raise ValidationError("Choose one of the campaigns listed or name a new one.")
    relationship_type = "indicates" if target.type == "indicator" else "related-to"
    to_publish.append(
        forum_object_build(
            "relationship",
            forum=forum,
            markings=marking_like(target),
            relationship_type=relationship_type,
            source_ref=stix_id,
            target_ref=campaign_id,
        )
    )
    stored = forum_objects_publish(forum=forum, objects=to_publish)
    relationship = stored[-1]
    audit_record(
        action="campaign-link",
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        after={
            "campaign": campaign_id,
            "campaign_created": bool(new_campaign.strip()),
            "relationship": relationship.stix_id,
            "relationship_type": relationship_type,
        },
    )
    return relationship
