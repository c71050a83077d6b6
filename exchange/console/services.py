"""The analysts' actions: triage moves, release to partners, retirement, revocation, TLP
restriction, notes, campaign links, and the admin's access changes.

Every action writes one event to the exchange's append-only audit log
(``members.services.audit_record``) with the acting user and the Forum as actor member.
Objects the Forum writes (notes, opinions, campaigns, relationships) go through
``signatures.services.objects_publish``, the one publish path, so they are signed and fanned
out like any member's (docs/console.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from exchange.console.models import TRANSITIONS, Triage, TriageState
from exchange.console.selectors import (
    PARTNER_FEED_ALIAS,
    forum_member,
    partner_feed,
    visible_objects,
)
from exchange.fanout.models import Delivery
from exchange.fanout.services import delivery_replay
from members.choices import MemberKind
from members.models import ApiToken, Member, Membership
from members.services import audit_record, token_issue
from signatures.access import collection_create_record
from signatures.choices import TlpLevel, tlp_rank
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk import jss
from signatures.sdk.constants import TLP2_BY_LEVEL
from signatures.services import (
    collection_create,
    collection_entries_remove,
    collection_objects_add,
    objects_publish,
)

#: Levels an analyst may restrict an object to. Not TLP:RED: the sharing policy hides
#: TLP:RED from the Forum itself, so the object would vanish from the console.
TLP_RESTRICT_CHOICES: tuple[str, ...] = (
    TlpLevel.GREEN,
    TlpLevel.AMBER,
    TlpLevel.AMBER_STRICT,
)


def _now_stamp() -> str:
    return jss.format_timestamp(timezone.now())


def _visible_latest(forum: Member, stix_id: str) -> StixObject:
    latest = visible_objects(forum).filter(stix_id=stix_id).order_by("-version").first()
    if latest is None:
        raise ValidationError(f"No object {stix_id} is visible to the Forum.")
    return latest


def _triage_lock(stix_id: str) -> Triage:
    """The object's triage row, locked for this transaction (created as "new")."""
    Triage.objects.get_or_create(stix_id=stix_id)
    return Triage.objects.select_for_update().get(stix_id=stix_id)


def _move(triage: Triage, state: str, user: User) -> str:
    """Check and apply a workflow move; returns the state before it."""
    before = triage.state
    if state not in TRANSITIONS[TriageState(before)]:
        raise ValidationError(
            f"An object that is {TriageState(before).label.lower()} cannot become "
            f"{TriageState(state).label.lower()}."
        )
    triage.state = state
    triage.updated_at = timezone.now()
    triage.updated_by = user
    triage.save()
    return before


def _reason_required(reason: str, what: str) -> str:
    if not reason.strip():
        raise ValidationError(f"Give a reason to {what}.")
    return reason.strip()


def _publish_as_forum(forum: Member, objects: list[dict[str, Any]]) -> list[StixObject]:
    """Publish objects the Forum writes; refuse the action if any is refused."""
    report = objects_publish(member=forum, objects=objects)
    refused = [outcome.reason for outcome in report.outcomes if outcome.status == "refused"]
    if refused:
        raise ValidationError(f"The exchange refused the Forum's object: {'; '.join(refused)}")
    ids = [str(obj["id"]) for obj in objects]
    return list(StixObject.objects.filter(stix_id__in=ids).order_by("pk"))


def _marking_like(obj: StixObject) -> list[str]:
    """Marking refs for an object the Forum writes about ``obj``: at least as restrictive
    as ``obj`` itself, so a note never reveals more widely what it comments on."""
    return [TLP2_BY_LEVEL[obj.tlp]] if obj.tlp else [TLP2_BY_LEVEL[TlpLevel.GREEN]]


# --- the partner feed -----------------------------------------------------------------------


def partner_feed_ensure(*, forum: Member, user: User) -> Collection:
    """The Forum's curated partner collection, created at the first release.

    Readers: every partner, lab and the Forum at creation (admins manage grants from then
    on); writers: the Forum only. TLP:AMBER+STRICT stays off it (partners_read_amber_strict
    false), so releasing never widens an object's audience beyond its TLP.
    """
    # The Forum's row serialises concurrent first releases, so only one feed is created.
    Member.objects.select_for_update().get(pk=forum.pk)
    existing = partner_feed()
    if existing is not None:
        return existing
    readers = list(
        Member.objects.filter(kind__in=[MemberKind.PARTNER, MemberKind.LAB, MemberKind.FORUM])
    )
    feed = collection_create(
        title="Partner feed",
        description="Signatures the Forum's analysts released to partners.",
        alias=PARTNER_FEED_ALIAS,
        api_root=settings.TAXII_API_ROOTS[0],
        readers=readers,
        writers=[forum],
    )
    collection_create_record(
        collection=feed,
        actor_member=forum,
        actor_user=user,
        note="created by the first release to partners",
    )
    return feed


def _partner_feed_withdraw(forum: Member, stix_id: str) -> int:
    """Remove every version of the object from the partner feed; the count removed."""
    feed = partner_feed()
    if feed is None:
        return 0
    return collection_entries_remove(
        member=forum,
        collection=feed,
        entries=CollectionEntry.objects.filter(collection=feed, stix_id=stix_id),
    )


# --- triage workflow ------------------------------------------------------------------------


@transaction.atomic
def object_review(*, stix_id: str, user: User, note: str = "") -> Triage:
    """new / members-only -> under review."""
    forum = forum_member()
    _visible_latest(forum, stix_id)
    triage = _triage_lock(stix_id)
    before = _move(triage, TriageState.UNDER_REVIEW, user)
    audit_record(
        action="object-review",
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        before={"state": before},
        after={"state": triage.state},
        note=note,
    )
    return triage


@transaction.atomic
def object_release(*, stix_id: str, user: User, note: str = "") -> Triage:
    """Release the object to partners: add every stored version of it to the partner feed.

    Allowed again once released, to add versions published since. Refused for TLP levels
    the partner feed never serves to partners (AMBER+STRICT, RED).
    """
    forum = forum_member()
    latest = _visible_latest(forum, stix_id)
    triage = _triage_lock(stix_id)
    feed = partner_feed_ensure(forum=forum, user=user)
    if latest.tlp == TlpLevel.RED or (
        latest.tlp == TlpLevel.AMBER_STRICT and not feed.partners_read_amber_strict
    ):
        raise ValidationError(
            f"{TlpLevel(latest.tlp).label} objects are not served to partners; keep it "
            "members-only."
        )
    before = _move(triage, TriageState.RELEASED, user)
    entries = collection_objects_add(member=forum, collection=feed, stix_ids=[stix_id])
    audit_record(
        action="object-release",
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        before={"state": before},
        after={
            "state": triage.state,
            "collection": str(feed.pk),
            "versions_added": [entry.version for entry in entries],
        },
        note=note,
    )
    return triage


def _move_off_partner_feed(
    *, stix_id: str, state: str, user: User, action: str, note: str
) -> Triage:
    """Move the object to ``state`` and take every version of it off the partner feed."""
    forum = forum_member()
    _visible_latest(forum, stix_id)
    triage = _triage_lock(stix_id)
    before = _move(triage, state, user)
    removed = _partner_feed_withdraw(forum, stix_id)
    audit_record(
        action=action,
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        before={"state": before},
        after={"state": triage.state, "partner_feed_versions_removed": removed},
        note=note,
    )
    return triage


@transaction.atomic
def object_keep_members_only(*, stix_id: str, user: User, note: str = "") -> Triage:
    """Keep the object for members: it stays on the members' feeds, off the partner feed."""
    return _move_off_partner_feed(
        stix_id=stix_id,
        state=TriageState.MEMBERS_ONLY,
        user=user,
        action="object-members-only",
        note=note,
    )


@transaction.atomic
def object_retire(
    *, stix_id: str, user: User, reason: str, action: str = "object-retire"
) -> Triage:
    """Retire a stale or wrong object: off the partner feed, and final in the workflow.

    The members' copies stay (the publisher owns them); retirement is the Forum's word
    that partners no longer get it.
    """
    reason = _reason_required(reason, "retire it")
    return _move_off_partner_feed(
        stix_id=stix_id, state=TriageState.RETIRED, user=user, action=action, note=reason
    )


@transaction.atomic
def object_revoke(*, stix_id: str, user: User, reason: str) -> StixObject:
    """Revoke the object on its publisher's behalf, the only way the Forum can.

    Only an object's creator may publish a version with ``revoked: true`` (STIX 2.1 section
    3.6), so the Forum publishes, signed as itself, an ``opinion`` of "strongly-disagree"
    labelled ``revocation`` whose explanation is the reason, and retires the object from the
    partner feed. The opinion goes on the members' feed and, when the object had been
    released, on the partner feed too, so partners learn why it left.
    """
    reason = _reason_required(reason, "revoke it")
    forum = forum_member()
    target = _visible_latest(forum, stix_id)
    feed = partner_feed()
    was_released = (
        feed is not None
        and CollectionEntry.objects.filter(collection=feed, stix_id=stix_id).exists()
    )
    now = _now_stamp()
    opinion = {
        "type": "opinion",
        "spec_version": "2.1",
        "id": f"opinion--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "created_by_ref": forum.identity_id,
        "labels": ["revocation"],
        "opinion": "strongly-disagree",
        "explanation": reason,
        "object_refs": [stix_id],
        "object_marking_refs": _marking_like(target),
    }
    (stored,) = _publish_as_forum(forum, [opinion])
    if was_released and feed is not None:
        collection_objects_add(member=forum, collection=feed, stix_ids=[stored.stix_id])
    object_retire(stix_id=stix_id, user=user, reason=reason, action="object-revoke")
    audit_record(
        action="opinion-publish",
        target=stored.stix_id,
        actor_member=forum,
        actor_user=user,
        after={"object_refs": [stix_id], "opinion": "strongly-disagree", "label": "revocation"},
        note=reason,
    )
    return stored


@transaction.atomic
def object_tlp_restrict(*, stix_id: str, level: str, user: User, reason: str) -> list[str]:
    """Make the object's effective TLP more restrictive ("downgrade-only"); never wider.

    The exchange serves each version by ``StixObject.tlp``, the column the sharing policy
    (``entries_visible_to``) reads, so raising it narrows who is served the object at once,
    on every feed and push. The served JSON stays byte for byte what the publisher signed
    (its markings included): the Forum cannot re-sign a member's object. A released object
    that partners may no longer be served is withdrawn from the partner feed.
    Returns the versions changed.
    """
    reason = _reason_required(reason, "restrict its TLP")
    if level not in TLP_RESTRICT_CHOICES:
        raise ValidationError(f"Restrict to one of {', '.join(TLP_RESTRICT_CHOICES)}.")
    forum = forum_member()
    latest = _visible_latest(forum, stix_id)
    if tlp_rank(level) <= tlp_rank(latest.tlp):
        raise ValidationError(
            f"TLP can only be made more restrictive: the object is "
            f"{TlpLevel(latest.tlp).label}, {TlpLevel(level).label} is not stricter."
        )
    triage = _triage_lock(stix_id)
    if not triage.publisher_tlp:
        triage.publisher_tlp = latest.tlp or "unmarked"
    narrower = [wider for wider in TlpLevel.values if tlp_rank(wider) < tlp_rank(level)]
    versions = StixObject.objects.filter(stix_id=stix_id, tlp__in=narrower)
    changed = {version: tlp for version, tlp in versions.values_list("version", "tlp")}
    versions.update(tlp=level)
    before_state = triage.state
    removed = 0
    feed = partner_feed()
    if (
        triage.state == TriageState.RELEASED
        and feed is not None
        and level == TlpLevel.AMBER_STRICT
        and not feed.partners_read_amber_strict
    ):
        triage.state = TriageState.MEMBERS_ONLY
        removed = _partner_feed_withdraw(forum, stix_id)
    triage.updated_at = timezone.now()
    triage.updated_by = user
    triage.save()
    audit_record(
        action="object-tlp-restrict",
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        before={"tlp": latest.tlp or "unmarked", "state": before_state, "versions": changed},
        after={"tlp": level, "state": triage.state, "partner_feed_versions_removed": removed},
        note=reason,
    )
    return sorted(changed)


@transaction.atomic
def object_note_add(*, stix_id: str, user: User, content: str, abstract: str = "") -> StixObject:
    """Publish a Forum ``note`` (STIX 2.1 section 4.11) about the object, marked at least as
    restrictively as the object. Notes are shared STIX, seen by whoever may read them."""
    if not content.strip():
        raise ValidationError("A note needs some content.")
    forum = forum_member()
    target = _visible_latest(forum, stix_id)
    now = _now_stamp()
    note: dict[str, Any] = {
        "type": "note",
        "spec_version": "2.1",
        "id": f"note--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "created_by_ref": forum.identity_id,
        "content": content.strip(),
        "authors": [user.get_username()],
        "object_refs": [stix_id],
        "object_marking_refs": _marking_like(target),
    }
    if abstract.strip():
        note["abstract"] = abstract.strip()
    (stored,) = _publish_as_forum(forum, [note])
    audit_record(
        action="note-publish",
        target=stix_id,
        actor_member=forum,
        actor_user=user,
        after={"note": stored.stix_id, "abstract": note.get("abstract", "")},
    )
    return stored


def forum_campaigns() -> list[StixObject]:
    """The Forum's campaign objects (newest version of each), by name."""
    forum = forum_member()
    campaigns = (
        visible_objects(forum)
        .filter(type="campaign", created_by_ref=forum.identity_id)
        .latest_versions()
    )
    return sorted(campaigns, key=lambda c: str(c.data.get("name", "")).lower())


@transaction.atomic
def object_campaign_link(
    *,
    stix_id: str,
    user: User,
    campaign: str = "",
    new_campaign: str = "",
) -> StixObject:
    """Link the object to a Forum ``campaign`` (STIX 2.1 section 4.4), creating it if named.

    The Forum publishes the relationship (section 5.1): an indicator ``indicates`` the
    campaign; any other object is ``related-to`` it.
    """
    forum = forum_member()
    target = _visible_latest(forum, stix_id)
    if target.type in ("relationship", "sighting"):
        raise ValidationError(
            "A relationship cannot start from a sighting or a relationship (STIX 2.1 section "
            "5.1); link the object it is about instead."
        )
    now = _now_stamp()
    to_publish: list[dict[str, Any]] = []
    campaign_id = campaign
    if new_campaign.strip():
        campaign_id = f"campaign--{uuid.uuid4()}"
        to_publish.append(
            {
                "type": "campaign",
                "spec_version": "2.1",
                "id": campaign_id,
                "created": now,
                "modified": now,
                "created_by_ref": forum.identity_id,
                "name": new_campaign.strip(),
                "object_marking_refs": [TLP2_BY_LEVEL[TlpLevel.AMBER]],
            }
        )
    elif campaign_id not in {c.stix_id for c in forum_campaigns()}:
        raise ValidationError("Choose one of the Forum's campaigns or name a new one.")
    relationship_type = "indicates" if target.type == "indicator" else "related-to"
    to_publish.append(
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid4()}",
            "created": now,
            "modified": now,
            "created_by_ref": forum.identity_id,
            "relationship_type": relationship_type,
            "source_ref": stix_id,
            "target_ref": campaign_id,
            "object_marking_refs": _marking_like(target),
        }
    )
    stored = _publish_as_forum(forum, to_publish)
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


# --- console users -------------------------------------------------------------------------

#: The console's roles: Django groups created by the migration 0002_analyst_and_admin_roles.
ROLES = ("analyst", "admin")


@transaction.atomic
def analyst_create(*, username: str, password: str, role: str, superuser: bool = False) -> User:
    """A Forum staff user in one console role; the password must pass the validators.

    ``superuser`` also gives every model permission in the Django admin, which only the
    Forum's staff may enter (exchange.admin_site): the way to make an operator.
    """
    if role not in ROLES:
        raise ValidationError(f"role is one of {', '.join(ROLES)}")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"A user named {username!r} exists already.")
    user = User(username=username, is_staff=True, is_superuser=superuser)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    forum = forum_member()
    Membership.objects.create(user=user, member=forum)
    user.groups.add(Group.objects.get(name=role))
    audit_record(
        action="console-user-create",
        target=username,
        actor_member=forum,
        after={"role": role, "is_staff": True, "is_superuser": superuser},
    )
    return user


# --- members & access (admin role) ----------------------------------------------------------


def console_token_issue(
    *,
    member: Member,
    scopes: list[str],
    user: User,
    name: str = "",
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token from the console's form (a lifetime in days); the raw value is
    returned once, for the page that shows it once."""
    return token_issue(
        member=member,
        scopes=scopes,
        name=name,
        expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        actor_member=forum_member(),
        actor_user=user,
    )


def dead_letters_replay(*, deliveries: Iterable[Delivery], user: User) -> int:
    """Send dead letters again through the fan-out's own replay; the count replayed."""
    forum = forum_member()
    replayed = 0
    for delivery in deliveries:
        if delivery_replay(delivery=delivery):
            replayed += 1
            audit_record(
                action="delivery-replay",
                target=str(delivery.pk),
                actor_member=forum,
                actor_user=user,
                before={"state": "dead", "subscription": str(delivery.subscription_id)},
                after={"state": "pending"},
            )
    return replayed
