"""The triage workflow: review, release to partners, members-only, retirement, revocation
and TLP restriction, and the partner feed that releases fill (docs/console.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from exchange.console.models import TRANSITIONS, Triage, TriageState
from exchange.console.selectors import (
    PARTNER_FEED_ALIAS,
    forum_member,
    partner_feed,
    visible_latest,
)
from exchange.console.services.forum_objects import (
    forum_object_build,
    forum_objects_publish,
    marking_like,
)
from members.choices import MemberKind
from members.models import Member
from members.services import audit_record
from signatures.choices import TlpLevel, tlp_rank
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.selectors import partners_may_be_served
from signatures.services import (
    collection_create,
    collection_entries_remove,
    collection_objects_add,
)

#: Levels an analyst may restrict an object to. Not TLP:RED: the sharing policy hides
#: TLP:RED from the Forum itself, so the object would vanish from the console.
TLP_RESTRICT_CHOICES: tuple[str, ...] = (
    TlpLevel.GREEN,
    TlpLevel.AMBER,
    TlpLevel.AMBER_STRICT,
)


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


@transaction.atomic
def object_review(*, stix_id: str, user: User, note: str = "") -> Triage:
    """new / members-only -> under review."""
    forum = forum_member()
    visible_latest(forum, stix_id)
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
    latest = visible_latest(forum, stix_id)
    triage = _triage_lock(stix_id)
    feed = partner_feed_ensure(forum=forum, user=user)
    if not partners_may_be_served(tlp=latest.tlp, collection=feed):
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
    visible_latest(forum, stix_id)
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
    target = visible_latest(forum, stix_id)
    feed = partner_feed()
    was_released = (
        feed is not None
        and CollectionEntry.objects.filter(collection=feed, stix_id=stix_id).exists()
    )
    opinion = forum_object_build(
        "opinion",
        forum=forum,
        markings=marking_like(target),
        labels=["revocation"],
        opinion="strongly-disagree",
        explanation=reason,
        object_refs=[stix_id],
    )
    (stored,) = forum_objects_publish(forum=forum, objects=[opinion])
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
    latest = visible_latest(forum, stix_id)
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
        and not partners_may_be_served(tlp=level, collection=feed)
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


# --- bulk triage -------------------------------------------------------------------------------

#: The most objects one bulk action takes: a queue page is 50; a selection across pages
#: of more than this is refused rather than run as one long transaction.
BULK_LIMIT = 500


@dataclass(slots=True)
class BulkOutcome:
    """What a bulk action did: the ids it acted on, and why it refused the others."""

    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _bulk(stix_ids: Sequence[str], act: Callable[[str], object]) -> BulkOutcome:
    """Run ``act`` on each id in its own savepoint: a refusal (a move the workflow does not
    allow, a TLP partners are never served) skips that object and keeps the others. Each
    object's own service writes its audit event, so the log has one event per object."""
    ids = list(dict.fromkeys(stix_ids))
    if not ids:
        raise ValidationError("Select at least one object.")
    if len(ids) > BULK_LIMIT:
        raise ValidationError(f"Select at most {BULK_LIMIT} objects at a time.")
    outcome = BulkOutcome()
    for stix_id in ids:
        try:
            with transaction.atomic():
                act(stix_id)
        except ValidationError as exc:
            outcome.refused[stix_id] = " ".join(exc.messages)
        else:
            outcome.done.append(stix_id)
    return outcome


@transaction.atomic
def objects_release(*, stix_ids: Sequence[str], user: User, note: str = "") -> BulkOutcome:
    """Release each selected object to partners (:func:`object_release`)."""
    return _bulk(stix_ids, lambda stix_id: object_release(stix_id=stix_id, user=user, note=note))


@transaction.atomic
def objects_retire(*, stix_ids: Sequence[str], user: User, reason: str) -> BulkOutcome:
    """Retire each selected object (:func:`object_retire`), with one reason for all."""
    reason = _reason_required(reason, "retire them")
    return _bulk(stix_ids, lambda stix_id: object_retire(stix_id=stix_id, user=user, reason=reason))


@transaction.atomic
def objects_tlp_restrict(
    *, stix_ids: Sequence[str], level: str, user: User, reason: str
) -> BulkOutcome:
    """Restrict each selected object's TLP (:func:`object_tlp_restrict`); objects already
    at or above ``level`` are refused, the rest restricted."""
    reason = _reason_required(reason, "restrict their TLP")
    return _bulk(
        stix_ids,
        lambda stix_id: object_tlp_restrict(stix_id=stix_id, level=level, user=user, reason=reason),
    )
