"""exchange/fanout/api/serializers.py: what the subscription API reads and what it shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exchange.fanout.api.serializers import DeliverySerializer, SubscriptionSerializer
from exchange.fanout.models import Delivery, DeliveryAttempt, Subscription
from members.models import Member

BODY = {"name": "hook", "channel": "webhook", "url": "https://hooks.example/in"}


def test_it_ignores_the_fields_only_the_exchange_sets(lab_a: Member) -> None:
    serializer = SubscriptionSerializer(
        data={**BODY, "status": "paused", "consecutive_failures": 9, "id": "x"}
    )
    assert serializer.is_valid(), serializer.errors
    assert set(serializer.validated_data) == {"name", "channel", "url"}


def test_it_refuses_an_unknown_channel_or_owner(lab_a: Member) -> None:
    serializer = SubscriptionSerializer(data={**BODY, "channel": "email", "owner": "nobody"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"channel", "owner"}


@pytest.mark.parametrize("owner", ["lab\x00a", "\ud98f", "lab a", "", 7])
def test_it_refuses_an_owner_that_is_no_member_name_before_asking_the_database(
    lab_a: Member, owner: object
) -> None:
    """PostgreSQL cannot compare a string holding NUL: asking it would be a 500."""
    serializer = SubscriptionSerializer(data={**BODY, "owner": owner})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"owner"}


def test_it_never_shows_a_taxii_password(lab_a: Member) -> None:
    serializer = SubscriptionSerializer(
        data={**BODY, "channel": "taxii", "taxii_user": "lab-a", "taxii_password": "hunter2"}
    )
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["taxii_password"] == "hunter2"
    subscription = Subscription.objects.create(
        owner=lab_a, name="push", channel="taxii", url=BODY["url"], taxii_user="lab-a"
    )
    shown = SubscriptionSerializer(subscription).data
    assert "taxii_password" not in shown and shown["taxii_user"] == "lab-a"
    assert (shown["owner"], shown["status"], shown["collections"]) == ("lab-a", "active", [])


def test_it_shows_a_delivery_with_its_attempts_in_order(lab_a: Member) -> None:
    subscription = Subscription.objects.create(owner=lab_a, **BODY)
    delivery = Delivery.objects.create(subscription=subscription, first_seq=4, object_count=2)
    started = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    for number, code in ((2, 200), (1, 503)):
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=started, status_code=code, latency_ms=9
        )
    shown = DeliverySerializer(delivery).data
    assert (shown["state"], shown["first_seq"], shown["object_count"]) == ("pending", 4, 2)
    assert [(a["number"], a["status_code"]) for a in shown["attempts_log"]] == [
        (1, 503),
        (2, 200),
    ]
