"""Fan-out reads: whose subscriptions, what a subscription wants, what its owner may read,
what is due and how healthy it is (exchange/fanout/selectors.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState, Subscription
from exchange.fanout.selectors import (
    EntryFacts,
    batch_ready,
    deliveries_contents,
    entries_visible_among,
    subscription_backlog,
    subscription_filter,
    subscription_health,
    subscription_reads_content,
    subscriptions_backlog,
    subscriptions_due,
    subscriptions_of,
)
from exchange.fanout.services import subscription_create, subscription_pause
from members.models import Member
from signatures.models import CollectionEntry
from signatures.selectors import collection_default
from signatures.services.collections import collection_create
from tests.exchange.fanout.conftest import indicators, publish

pytestmark = pytest.mark.django_db


def webhook(owner: Member, name: str = "hook", **fields: Any) -> Subscription:
    subscription, _ = subscription_create(
        owner=owner,
        name=name,
        channel="webhook",
        url=f"https://hooks.example.org/{name}",
        **fields,
    )
    return subscription


def entries(member: Member, count: int, *, tlp: str = "green") -> list[CollectionEntry]:
    ids = publish(member, indicators(member, count, tlp=tlp))
    found = {
        entry.stix_object.stix_id: entry
        for entry in CollectionEntry.objects.filter(stix_object__stix_id__in=ids).select_related(
            "stix_object"
        )
    }
    return [found[stix_id] for stix_id in ids]


def item(
    subscription: Subscription,
    entry: CollectionEntry,
    seq: int,
    delivery: Delivery | None = None,
    age: timedelta = timedelta(0),
) -> DeliveryItem:
    return DeliveryItem.objects.create(
        subscription=subscription,
        collection_entry=entry,
        seq=seq,
        delivery=delivery,
        created_at=timezone.now() - age,
    )


def delivery(subscription: Subscription, state: str, first_seq: int, **fields: Any) -> Delivery:
    return Delivery.objects.create(
        subscription=subscription, state=state, first_seq=first_seq, object_count=1, **fields
    )


# subscriptions_of


def test_it_lists_a_labs_own_subscriptions_and_all_of_them_for_the_forum(
    forum: Member, lab_a: Member, lab_b: Member
) -> None:
    mine = webhook(lab_a, "mine")
    theirs = webhook(lab_b, "theirs")
    assert list(subscriptions_of(lab_a)) == [mine]
    assert list(subscriptions_of(lab_b)) == [theirs]
    assert set(subscriptions_of(forum)) == {mine, theirs}


# subscription_filter, subscription_reads_content


def facts(**overrides: Any) -> EntryFacts:
    values: dict[str, Any] = {
        "collection_id": collection_default().pk,
        "type": "indicator",
        "tlp": "green",
    }
    return EntryFacts(**{**values, **overrides})


def test_it_wants_everything_without_filters_and_reads_no_content(lab_a: Member) -> None:
    subscription = webhook(lab_a)
    wants = subscription_filter(subscription)
    assert subscription_reads_content(subscription) is False
    assert wants(facts())
    assert wants(facts(type="malware", tlp="red", collection_id=-1))


def test_it_keeps_only_the_chosen_collections(lab_a: Member) -> None:
    chosen = collection_create(title="Lab A only", readers=[lab_a], writers=[lab_a])
    wants = subscription_filter(webhook(lab_a, collections=[chosen]))
    assert wants(facts(collection_id=chosen.pk))
    assert not wants(facts(collection_id=collection_default().pk))


def test_it_keeps_only_the_chosen_object_types(lab_a: Member) -> None:
    wants = subscription_filter(webhook(lab_a, object_types=["indicator", "malware"]))
    assert wants(facts(type="indicator"))
    assert wants(facts(type="malware"))
    assert not wants(facts(type="report"))


@pytest.mark.parametrize(
    ("ceiling", "accepted", "refused"),
    [
        ("green", {"clear", "green"}, {"", "amber", "amber+strict", "red"}),
        # An unmarked object ranks as TLP:AMBER, so an AMBER ceiling lets it through.
        ("amber", {"clear", "green", "amber", ""}, {"amber+strict", "red"}),
        ("red", {"clear", "green", "amber", "", "amber+strict", "red"}, set()),
    ],
)
def test_it_keeps_levels_no_more_restrictive_than_the_tlp_ceiling(
    lab_a: Member, ceiling: str, accepted: set[str], refused: set[str]
) -> None:
    wants = subscription_filter(webhook(lab_a, tlp_ceiling=ceiling))
    assert {level for level in accepted | refused if wants(facts(tlp=level))} == accepted


def test_it_matches_labels_against_indicator_types_and_labels(lab_a: Member) -> None:
    subscription = webhook(lab_a, labels=["malicious-activity"])
    wants = subscription_filter(subscription)
    assert subscription_reads_content(subscription) is True
    assert wants(facts(data={"indicator_types": ["malicious-activity"]}))
    assert wants(facts(data={"labels": ["malicious-activity", "other"]}))
    assert not wants(facts(data={"indicator_types": ["benign"], "labels": ["other"]}))
    assert not wants(facts(data=None))


def test_it_matches_kill_chain_phases_by_phase_name(lab_a: Member) -> None:
    subscription = webhook(lab_a, kill_chain_phases=["exfiltration"])
    wants = subscription_filter(subscription)
    assert subscription_reads_content(subscription) is True
    phase = {"kill_chain_name": "mitre-attack", "phase_name": "exfiltration"}
    assert wants(facts(data={"kill_chain_phases": [phase]}))
    other = {"kill_chain_name": "mitre-attack", "phase_name": "exfiltration-2"}
    assert not wants(facts(data={"kill_chain_phases": [other]}))
    assert not wants(facts(data={}))


def test_it_refuses_objects_below_the_minimum_confidence_or_without_one(lab_a: Member) -> None:
    subscription = webhook(lab_a, min_confidence=0)
    assert subscription_reads_content(subscription) is True
    assert subscription_filter(subscription)(facts(data={"confidence": 0}))
    assert not subscription_filter(subscription)(facts(data={}))

    wants = subscription_filter(webhook(lab_a, "strict", min_confidence=70))
    assert wants(facts(data={"confidence": 70}))
    assert not wants(facts(data={"confidence": 69}))
    assert not wants(facts(data={"confidence": "high"}))


def test_it_requires_every_filter_to_pass(lab_a: Member) -> None:
    wants = subscription_filter(
        webhook(lab_a, object_types=["indicator"], tlp_ceiling="green", min_confidence=50)
    )
    good = {"confidence": 80}
    assert wants(facts(data=good))
    assert not wants(facts(type="malware", data=good))
    assert not wants(facts(tlp="amber", data=good))
    assert not wants(facts(data={"confidence": 10}))


# entries_visible_among, deliveries_contents


def test_it_narrows_entries_to_those_the_owner_may_read(lab_a: Member, lab_b: Member) -> None:
    green, red = entries(lab_a, 1)[0], entries(lab_a, 1, tlp="red")[0]
    ids = [green.pk, red.pk]
    assert entries_visible_among(lab_a, ids) == {green.pk, red.pk}
    assert entries_visible_among(lab_b, ids) == {green.pk}
    assert entries_visible_among(lab_b, []) == set()


def test_it_gives_each_delivery_its_objects_in_outbox_order_without_those_the_owner_cannot_read(
    lab_a: Member, lab_b: Member
) -> None:
    first, second = entries(lab_a, 2)
    red = entries(lab_a, 1, tlp="red")[0]
    own, other = webhook(lab_a, "own"), webhook(lab_b, "other")
    own_delivery = delivery(own, DeliveryState.PENDING, 1)
    other_delivery = delivery(other, DeliveryState.PENDING, 1)
    empty = delivery(other, DeliveryState.PENDING, 9)
    # Created out of order: the contents follow seq.
    for subscription, batch in ((own, own_delivery), (other, other_delivery)):
        item(subscription, second, 3, batch)
        item(subscription, red, 2, batch)
        item(subscription, first, 1, batch)

    contents = deliveries_contents(
        {own_delivery.pk: lab_a, other_delivery.pk: lab_b, empty.pk: lab_b}
    )

    def ids(raws: list[str]) -> list[str]:
        return [json.loads(raw)["id"] for raw in raws]

    entry_ids = [entry.stix_object.stix_id for entry in (first, red, second)]
    assert ids(contents[own_delivery.pk]) == entry_ids
    assert ids(contents[other_delivery.pk]) == [entry_ids[0], entry_ids[2]]
    assert contents[empty.pk] == []
    # The stored text, verbatim.
    assert contents[own_delivery.pk][0] == first.stix_object.raw


# subscription_backlog, subscriptions_backlog


def test_it_counts_unbatched_and_pending_items_as_backlog_but_not_delivered_or_dead(
    lab_a: Member, lab_b: Member
) -> None:
    objects = entries(lab_a, 6)
    busy, idle = webhook(lab_a, "busy"), webhook(lab_b, "idle")
    item(busy, objects[0], 1, delivery(busy, DeliveryState.DELIVERED, 1))
    item(busy, objects[1], 2, delivery(busy, DeliveryState.DEAD, 2))
    pending = delivery(busy, DeliveryState.PENDING, 3)
    item(busy, objects[2], 3, pending)
    item(busy, objects[3], 4, pending)
    item(busy, objects[4], 5)
    # Another subscription's items are not this one's backlog.
    item(idle, objects[5], 6, delivery(idle, DeliveryState.DELIVERED, 6))

    assert subscription_backlog(busy.pk) == 3
    assert subscription_backlog(idle.pk) == 0
    assert subscriptions_backlog([busy.pk, idle.pk]) == {busy.pk: 3, idle.pk: 0}
    assert subscriptions_backlog([]) == {}


# batch_ready, subscriptions_due


def test_it_sends_a_batch_when_full_or_when_its_oldest_waited_long_enough() -> None:
    subscription = Subscription(max_batch=10, max_wait_ms=60_000)
    now = timezone.now()
    assert batch_ready(subscription, 10, now, now)
    assert not batch_ready(subscription, 9, now - timedelta(seconds=59), now)
    assert batch_ready(subscription, 1, now - timedelta(seconds=60), now)
    assert not batch_ready(subscription, 0, None, now)


def test_it_finds_due_the_subscriptions_with_a_full_batch_or_a_retry_whose_time_came(
    lab_a: Member,
) -> None:
    objects = entries(lab_a, 8)
    full = webhook(lab_a, "full", max_batch=2, max_wait_ms=3_600_000)
    filling = webhook(lab_a, "filling", max_batch=2, max_wait_ms=3_600_000)
    waited = webhook(lab_a, "waited", max_batch=100, max_wait_ms=60_000)
    retry = webhook(lab_a, "retry")
    backing_off = webhook(lab_a, "backing-off")
    nothing = webhook(lab_a, "nothing")
    item(full, objects[0], 1)
    item(full, objects[1], 2)
    item(filling, objects[2], 3)
    item(waited, objects[3], 4, age=timedelta(minutes=5))
    past = timezone.now() - timedelta(seconds=1)
    item(retry, objects[4], 5, delivery(retry, DeliveryState.PENDING, 5, next_attempt_at=past))
    later = timezone.now() + timedelta(hours=1)
    head = delivery(backing_off, DeliveryState.PENDING, 6, next_attempt_at=later)
    item(backing_off, objects[5], 6, head)
    # A full batch behind a delivery in backoff waits for it: order is per subscription.
    item(backing_off, objects[6], 7)
    item(backing_off, objects[7], 8)

    assert set(subscriptions_due()) == {full.pk, waited.pk, retry.pk}
    assert nothing.pk not in subscriptions_due([nothing.pk])
    assert subscriptions_due([full.pk, filling.pk]) == [full.pk]


def test_it_skips_paused_subscriptions_and_those_another_sender_holds(lab_a: Member) -> None:
    objects = entries(lab_a, 3)
    paused = webhook(lab_a, "paused", max_batch=1)
    leased = webhook(lab_a, "leased", max_batch=1)
    expired = webhook(lab_a, "expired", max_batch=1)
    for seq, subscription in enumerate((paused, leased, expired), start=1):
        item(subscription, objects[seq - 1], seq)
    subscription_pause(subscription=paused)
    now = timezone.now()
    Subscription.objects.filter(pk=leased.pk).update(lease_until=now + timedelta(minutes=1))
    # A lease whose holder stopped renewing it no longer holds the subscription.
    Subscription.objects.filter(pk=expired.pk).update(lease_until=now - timedelta(minutes=1))

    assert subscriptions_due([paused.pk, leased.pk, expired.pk]) == [expired.pk]


# subscription_health


def test_it_reports_health_with_lag_from_the_oldest_undelivered_item_and_the_head_delivery(
    lab_a: Member,
) -> None:
    objects = entries(lab_a, 5)
    subscription = webhook(lab_a)
    item(
        subscription,
        objects[0],
        1,
        delivery(subscription, DeliveryState.DELIVERED, 1),
        age=timedelta(days=1),
    )
    dead = delivery(subscription, DeliveryState.DEAD, 2, attempts=10)
    item(subscription, objects[1], 2, dead)
    head = delivery(
        subscription,
        DeliveryState.PENDING,
        3,
        attempts=2,
        last_status_code=503,
        last_error="Service Unavailable",
    )
    item(subscription, objects[2], 3, head, age=timedelta(hours=2))
    item(subscription, objects[3], 4, head, age=timedelta(hours=2))
    later = delivery(subscription, DeliveryState.PENDING, 5)
    item(subscription, objects[4], 5, later, age=timedelta(hours=1))

    health = subscription_health(subscription)
    assert health["id"] == str(subscription.pk)
    assert health["status"] == "active"
    assert health["backlog"] == 3
    assert health["deliveries"] == {"pending": 2, "delivered": 1, "dead": 1}
    assert health["dead_letters"] == 1
    assert health["dead_letter_objects"] == 1
    assert health["sending"] is False
    # The pending items' oldest, not the delivered one's (a day old).
    assert 2 * 3600 <= health["lag_seconds"] < 24 * 3600
    assert health["oldest_undelivered_at"] == DeliveryItem.objects.get(seq=3).created_at
    assert health["head"] == {
        "delivery_id": str(head.pk),
        "attempts": 2,
        "next_attempt_at": head.next_attempt_at,
        "last_status_code": 503,
        "last_error": "Service Unavailable",
    }


def test_it_reports_an_idle_subscription_as_without_lag_or_head_and_a_leased_one_as_sending(
    lab_a: Member,
) -> None:
    subscription = webhook(lab_a)
    idle = subscription_health(subscription)
    assert idle["backlog"] == 0
    assert idle["lag_seconds"] == 0.0
    assert idle["oldest_undelivered_at"] is None
    assert idle["head"] is None
    assert idle["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}

    Subscription.objects.filter(pk=subscription.pk).update(
        lease_until=timezone.now() + timedelta(minutes=1)
    )
    subscription.refresh_from_db()
    assert subscription_health(subscription)["sending"] is True
