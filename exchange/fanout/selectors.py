"""Fan-out reads: what a subscription may receive, what is due, how healthy it is.

What a subscription receives is always narrowed by
:func:`signatures.selectors.entries_visible_to` for its owner, the same rule the REST API
and the TAXII server apply, so a push never carries an object its owner could not poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
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


def subscription_entries(
    subscription: Subscription, entries: QuerySet[CollectionEntry], *, with_filters: bool = True
) -> QuerySet[CollectionEntry]:
    """``entries`` the subscription's owner may read and, with filters, that it asked for.

    The content filters that look inside objects (labels, kill-chain phases, confidence)
    are applied by the dispatcher on the rows this returns.
    """
    entries = entries_visible_to(subscription.owner, entries)
    if not with_filters:
        return entries
    collection_ids = [collection.pk for collection in subscription.collections.all()]
    if collection_ids:
        entries = entries.filter(collection_id__in=collection_ids)
    if subscription.object_types:
        entries = entries.filter(type__in=subscription.object_types)
    if subscription.tlp_ceiling:
        entries = entries.filter(stix_object__tlp__in=tlp_levels_within(subscription.tlp_ceiling))
    return entries


def _undelivered(subscription_id: uuid.UUID | str) -> QuerySet[DeliveryItem]:
    return DeliveryItem.objects.filter(subscription_id=subscription_id).filter(
        Q(delivery__isnull=True) | Q(delivery__state=DeliveryState.PENDING)
    )


def subscription_backlog(subscription_id: uuid.UUID | str) -> int:
    """Objects matched for the subscription and not yet delivered (dead letters excluded)."""
    return _undelivered(subscription_id).count()


def subscriptions_due(ids: Iterable[uuid.UUID | str] | None = None) -> list[uuid.UUID]:
    """Active subscriptions with nobody sending and something to send now: a pending
    delivery past its backoff or, with none pending, unbatched items that fill a batch or
    waited max_wait."""
    now = timezone.now()
    rows = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    pending = Delivery.objects.filter(subscription=OuterRef("pk"), state=DeliveryState.PENDING)
    rows = rows.annotate(
        head_pending=Exists(pending),
        retry_due=Exists(pending.filter(next_attempt_at__lte=now)),
        unbatched=Count("items", filter=Q(items__delivery__isnull=True)),
        oldest=Min("items__created_at", filter=Q(items__delivery__isnull=True)),
    ).filter(Q(retry_due=True) | Q(unbatched__gt=0))
    due: list[uuid.UUID] = []
    for row in rows:
        batch_ready = row.unbatched >= row.max_batch or (
            row.oldest is not None and now - row.oldest >= timedelta(milliseconds=row.max_wait_ms)
        )
        # A pending delivery heads the queue: nothing behind it may leave before it.
        if row.retry_due or (batch_ready and not row.head_pending):
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
