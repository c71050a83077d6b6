"""Fan-out reads: what a subscription may receive, what is due, how healthy it is.

What a subscription receives is always narrowed by
:func:`signatures.selectors.entries_visible_to` for its owner, the same rule the REST API
and the TAXII server apply, so a push never carries an object its owner could not poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from exchange.fanout.models import (
    Delivery,
    DeliveryItem,
    DeliveryState,
    Subscription,
    SubscriptionStatus,
)
from members.choices import MemberKind
from members.models import Member
from signatures.choices import tlp_levels_within
from signatures.models import CollectionEntry
from signatures.selectors import entries_visible_to


def subscriptions_of(member: Member) -> QuerySet[Subscription]:
    """The subscriptions a member manages: its own; the Forum administers all of them."""
    if member.kind == MemberKind.FORUM:
        return Subscription.objects.all()
    return Subscription.objects.filter(owner=member)


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What a subscription's filters look at in one collection entry; ``data`` (the
    object) only when some subscription filters on its content."""

    collection_id: int
    type: str
    tlp: str
    data: dict[str, Any] | None = None


def subscription_filter(subscription: Subscription) -> Callable[[EntryFacts], bool]:
    """The subscription's filters as one test over an entry's facts (docs/fanout.md).

    They narrow what the owner may read and never widen it: visibility is decided
    separately, by :func:`signatures.selectors.entries_visible_to`. ``collections`` is
    read from the prefetch cache when the caller prefetched it.
    """
    collections = frozenset(collection.pk for collection in subscription.collections.all())
    types = frozenset(subscription.object_types)
    ceiling = subscription.tlp_ceiling
    levels = frozenset(tlp_levels_within(ceiling)) if ceiling else None
    labels = frozenset(subscription.labels)
    phases = frozenset(subscription.kill_chain_phases)
    min_confidence = subscription.min_confidence

    def wants(entry: EntryFacts) -> bool:
        if collections and entry.collection_id not in collections:
            return False
        if types and entry.type not in types:
            return False
        if levels is not None and entry.tlp not in levels:
            return False
        if not (labels or phases or min_confidence is not None):
            return True
        # The filters that look inside the object (STIX 2.1 sections 4.7 and 3.2).
        data = entry.data or {}
        if labels:
            present = set(data.get("indicator_types") or ()) | set(data.get("labels") or ())
            if present.isdisjoint(labels):
                return False
        if phases:
            named = {phase.get("phase_name") for phase in data.get("kill_chain_phases") or ()}
            if named.isdisjoint(phases):
                return False
        if min_confidence is not None:
            confidence = data.get("confidence")
            if not isinstance(confidence, int) or confidence < min_confidence:
                return False
        return True

    return wants


def subscription_reads_content(subscription: Subscription) -> bool:
    """Whether the subscription's filters look inside objects (EntryFacts.data needed)."""
    return bool(
        subscription.labels
        or subscription.kill_chain_phases
        or subscription.min_confidence is not None
    )


def entries_visible_among(owner: Member, entry_ids: list[int]) -> set[int]:
    """Which of ``entry_ids`` the owner may read now: one query, whatever the number of
    the owner's subscriptions."""
    entries = CollectionEntry.objects.filter(pk__in=entry_ids)
    return set(entries_visible_to(owner, entries).values_list("pk", flat=True))


def deliveries_contents(owners: dict[uuid.UUID, Member]) -> dict[uuid.UUID, list[str]]:
    """The stored text of the objects in each delivery (``owners``: delivery id -> the
    owner of its subscription), in outbox order, leaving out those the owner can no longer
    read: they are never sent.

    One query for the items and their text, led by the items' delivery index, then the
    sharing policy once per owner over the short list of its entries' keys
    (:func:`entries_visible_among`). A visibility subquery joined to the items instead
    lets the planner scan the whole collection.
    """
    rows = list(
        DeliveryItem.objects.filter(delivery_id__in=list(owners))
        .order_by("seq")
        .values_list("delivery_id", "collection_entry_id", "collection_entry__stix_object__raw")
    )
    entries_of: dict[int, set[int]] = {}
    members: dict[int, Member] = {}
    for delivery_id, entry_id, _ in rows:
        owner = owners[delivery_id]
        members[owner.pk] = owner
        entries_of.setdefault(owner.pk, set()).add(entry_id)
    readable = {
        pk: entries_visible_among(members[pk], sorted(entry_ids))
        for pk, entry_ids in entries_of.items()
    }
    contents: dict[uuid.UUID, list[str]] = {delivery_id: [] for delivery_id in owners}
    for delivery_id, entry_id, raw in rows:
        if entry_id in readable[owners[delivery_id].pk]:
            contents[delivery_id].append(raw)
    return contents


def _undelivered(subscription_id: uuid.UUID | str) -> QuerySet[DeliveryItem]:
    return DeliveryItem.objects.filter(subscription_id=subscription_id).filter(
        Q(delivery__isnull=True) | Q(delivery__state=DeliveryState.PENDING)
    )


def subscription_backlog(subscription_id: uuid.UUID | str) -> int:
    """Objects matched for the subscription and not yet delivered (dead letters excluded)."""
    return _undelivered(subscription_id).count()


def subscriptions_backlog(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """:func:`subscription_backlog` of several subscriptions, in one query.

    Unbatched items and the items of pending deliveries are counted apart (UNION ALL),
    each through an index that leads to undelivered rows only, so the cost follows the
    backlog and not the delivered history.
    """
    ids = list(ids)
    counts: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    unbatched = (
        DeliveryItem.objects.filter(subscription_id__in=ids, delivery__isnull=True)
        .order_by()
        .values_list("subscription_id")
        .annotate(n=Count("pk"))
    )
    batched = (
        DeliveryItem.objects.filter(
            delivery__subscription_id__in=ids, delivery__state=DeliveryState.PENDING
        )
        .order_by()
        .values_list("delivery__subscription_id")
        .annotate(n=Count("pk"))
    )
    for subscription_id, n in unbatched.union(batched, all=True):
        counts[subscription_id] += n
    return counts


def batch_ready(
    subscription: Subscription, count: int, oldest: datetime | None, now: datetime
) -> bool:
    """A new delivery leaves when it holds max_batch objects or its oldest waited max_wait."""
    if count >= subscription.max_batch:
        return True
    return oldest is not None and now - oldest >= timedelta(milliseconds=subscription.max_wait_ms)


def subscriptions_due(ids: Iterable[uuid.UUID | str] | None = None) -> list[uuid.UUID]:
    """Active subscriptions with nobody sending and something to send now: a pending
    delivery past its backoff or, with none pending, unbatched items that fill a batch or
    waited max_wait.

    One query; each subquery reads only undelivered rows (the partial index of unbatched
    items, the queue index of deliveries).
    """
    now = timezone.now()
    rows = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    pending = Delivery.objects.filter(subscription=OuterRef("pk"), state=DeliveryState.PENDING)
    unbatched = DeliveryItem.objects.filter(
        subscription=OuterRef("pk"), delivery__isnull=True
    ).order_by()
    per_subscription = unbatched.values("subscription_id")
    rows = rows.annotate(
        head_pending=Exists(pending),
        retry_due=Exists(pending.filter(next_attempt_at__lte=now)),
        has_unbatched=Exists(unbatched),
    ).filter(Q(retry_due=True) | Q(has_unbatched=True, head_pending=False))
    rows = rows.annotate(
        unbatched=Subquery(per_subscription.annotate(n=Count("pk")).values("n")),
        oldest=Subquery(per_subscription.annotate(at=Min("created_at")).values("at")),
    ).order_by()
    due: list[uuid.UUID] = []
    for row in rows:
        # A pending delivery heads the queue: nothing behind it may leave before it.
        if row.retry_due or (
            not row.head_pending and batch_ready(row, row.unbatched or 0, row.oldest, now)
        ):
            due.append(row.pk)
    return due


def subscription_health(subscription: Subscription) -> dict[str, Any]:
    """Lag, last success, failures and dead letters of one subscription (docs/fanout.md)."""
    now = timezone.now()
    undelivered = _undelivered(subscription.pk)
    oldest = undelivered.aggregate(oldest=Min("created_at"))["oldest"]
    deliveries = Delivery.objects.filter(subscription=subscription)
    counts = dict(deliveries.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    dead_objects = DeliveryItem.objects.filter(
        subscription=subscription, delivery__state=DeliveryState.DEAD
    ).count()
    head = deliveries.filter(state=DeliveryState.PENDING).order_by("first_seq").first()
    return {
        "id": str(subscription.pk),
        "status": subscription.status,
        "paused_reason": subscription.paused_reason,
        "backlog": undelivered.count(),
        "lag_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
        "oldest_undelivered_at": oldest,
        "last_success_at": subscription.last_success_at,
        "last_failure_at": subscription.last_failure_at,
        "consecutive_failures": subscription.consecutive_failures,
        "deliveries": {state: counts.get(state, 0) for state in DeliveryState.values},
        "dead_letters": counts.get(DeliveryState.DEAD, 0),
        "dead_letter_objects": dead_objects,
        "sending": subscription.lease_until is not None and subscription.lease_until > now,
        "head": None
        if head is None
        else {
            "delivery_id": str(head.pk),
            "attempts": head.attempts,
            "next_attempt_at": head.next_attempt_at,
            "last_status_code": head.last_status_code,
            "last_error": head.last_error,
        },
    }
