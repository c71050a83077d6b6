"""exchange/fanout/models.py: what the tables themselves guarantee, and how rows read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from exchange.fanout.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryItem,
    DeliveryState,
    Subscription,
    SubscriptionStatus,
)
from members.models import Member
from signatures.models import CollectionEntry
from signatures.selectors import collection_default
from signatures.services import objects_publish
from tests import stix_samples


@pytest.fixture
def subscription(lab_a: Member) -> Subscription:
    return Subscription.objects.create(
        owner=lab_a, name="hook", channel="webhook", url="https://hooks.example/in"
    )


def test_it_is_active_until_paused(subscription: Subscription) -> None:
    assert subscription.is_active and str(subscription) == "hook (lab-a)"
    subscription.status = SubscriptionStatus.PAUSED
    assert not subscription.is_active


def test_it_holds_each_entry_once_per_subscription(
    subscription: Subscription, lab_a: Member
) -> None:
    objects_publish(member=lab_a, objects=[stix_samples.ip_range_indicator(lab_a.identity_id)])
    entry = CollectionEntry.objects.filter(collection=collection_default()).latest("date_added")
    item = DeliveryItem.objects.create(subscription=subscription, collection_entry=entry, seq=1)
    assert str(item) == f"#1 for {subscription.pk}"
    # The dispatcher may run twice over an entry: the second item is refused by the table.
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryItem.objects.create(subscription=subscription, collection_entry=entry, seq=2)
    assert DeliveryItem.objects.filter(subscription=subscription).count() == 1


def test_it_names_deliveries_and_attempts_by_what_happened(subscription: Subscription) -> None:
    delivery = Delivery.objects.create(
        id=uuid.UUID(int=7), subscription=subscription, first_seq=1, object_count=3
    )
    assert delivery.state == DeliveryState.PENDING
    assert str(delivery) == "00000000-0000-0000-0000-000000000007 (pending)"
    started = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    failed = DeliveryAttempt(
        delivery=delivery, number=1, started_at=started, latency_ms=5, error="timed out"
    )
    answered = DeliveryAttempt(
        delivery=delivery, number=2, started_at=started, latency_ms=5, status_code=503
    )
    assert str(failed) == f"attempt 1 of {delivery.pk}: timed out"
    assert str(answered) == f"attempt 2 of {delivery.pk}: 503"
