"""Dispatcher, filters, ordering and dead letters, run in-process (the functions the tasks
call) against real receivers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import override_settings

from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState
from exchange.fanout.sealing import unseal
from exchange.fanout.services import (
    delivery_replay,
    outbox_dispatch,
    subscription_create,
    subscription_pump,
)
from members.models import Member
from signatures.models import Collection, OutboxEntry
from signatures.sdk.constants import TLP2_AMBER_STRICT
from tests.exchange.fanout.conftest import Receiver, indicators, publish
from tests.stix_samples import attack_pattern

pytestmark = pytest.mark.django_db


def test_it_writes_the_outbox_in_the_publish_transaction(lab_a: Member) -> None:
    before = OutboxEntry.objects.count()
    ids = publish(lab_a, indicators(lab_a, 3))
    entries = OutboxEntry.objects.order_by("pk")[before:]
    assert [e.collection_entry.stix_id for e in entries] == ids


def test_it_matches_only_what_the_owner_may_read(
    lab_a: Member, lab_b: Member, partner: Member, forum: Member
) -> None:
    subs = {
        member.name: subscription_create(
            owner=member, name="all", channel="webhook", url="https://example.org/hook"
        )[0]
        for member in (lab_a, lab_b, partner, forum)
    }
    green = publish(lab_a, indicators(lab_a, 2))
    red = publish(lab_a, indicators(lab_a, 1, tlp="red"))
    strict = publish(lab_a, indicators(lab_a, 1, tlp="amber+strict"))
    lab_a.amber_strict_recipients.add(lab_b)
    outbox_dispatch()
    got = {
        name: set(DeliveryItem.objects.filter(subscription=sub).values_list(
            "collection_entry__stix_id", flat=True
        ))
        for name, sub in subs.items()
    }  # fmt: skip
    assert got["lab-a"] == {*green, *red, *strict}
    assert got["lab-b"] == {*green, *strict}
    assert got["partner"] == set(green)
    assert got["forum"] == {*green, *strict}  # TLP:RED is never served to the Forum
    assert TLP2_AMBER_STRICT  # the marking the strict objects carry


def test_it_keeps_the_first_item_when_an_entry_is_dispatched_again(
    lab_a: Member, lab_b: Member
) -> None:
    subscription, _ = subscription_create(
        owner=lab_b, name="all", channel="webhook", url="https://example.org/hook"
    )
    ids = publish(lab_a, indicators(lab_a, 3))
    outbox_dispatch()
    first = {
        item.collection_entry.stix_id: (item.pk, item.seq, item.created_at)
        for item in DeliveryItem.objects.filter(subscription=subscription)
    }
    # As after a crash between matching the entries and marking them dispatched.
    OutboxEntry.objects.filter(collection_entry__stix_id__in=ids).update(dispatched_at=None)
    outbox_dispatch()
    again = {
        item.collection_entry.stix_id: (item.pk, item.seq, item.created_at)
        for item in DeliveryItem.objects.filter(subscription=subscription)
    }
    assert set(first) == set(ids)
    assert again == first


def test_it_applies_each_filter(lab_a: Member, lab_b: Member) -> None:
    other = Collection.objects.create(title="Other")
    other.readers.add(lab_b)
    other.writers.add(lab_a)

    def sub(**filters: object) -> set[str]:
        made, _ = subscription_create(
            owner=lab_b, name="f", channel="webhook", url="https://example.org/h", **filters
        )
        return made  # type: ignore[return-value]

    by_type = sub(object_types=["attack-pattern"])
    by_label = sub(labels=["anomalous-activity"])
    by_phase = sub(kill_chain_phases=["collection"])
    by_confidence = sub(min_confidence=90)
    by_tlp = sub(tlp_ceiling="clear")
    by_amber = sub(tlp_ceiling="amber")
    by_collection, _ = subscription_create(
        owner=lab_b, name="c", channel="webhook", url="https://example.org/h", collections=[other]
    )
    plain = indicators(lab_a, 1)[0]
    labelled = {**indicators(lab_a, 1)[0], "indicator_types": ["anomalous-activity"]}
    phased = {
        **indicators(lab_a, 1)[0],
        "kill_chain_phases": [{"kill_chain_name": "mitre-atlas", "phase_name": "collection"}],
    }
    confident = {**indicators(lab_a, 1)[0], "confidence": 95}
    clear = indicators(lab_a, 1, tlp="clear")[0]
    pattern = attack_pattern(lab_a.identity_id, object_marking_refs=[])
    publish(lab_a, [plain, labelled, phased, confident, clear, pattern])
    elsewhere = indicators(lab_a, 1)[0]
    from signatures.services import objects_publish

    objects_publish(member=lab_a, objects=[elsewhere], collection=other)
    outbox_dispatch()

    def got(subscription: object) -> set[str]:
        rows = DeliveryItem.objects.filter(subscription=subscription)
        return set(rows.values_list("collection_entry__stix_id", flat=True))

    assert got(by_type) == {pattern["id"]}
    assert got(by_label) == {labelled["id"]}
    assert got(by_phase) == {phased["id"]}
    assert got(by_confidence) == {confident["id"]}
    # Unmarked objects rank as TLP:AMBER, as the sharing policy serves them.
    assert got(by_tlp) == {clear["id"]}
    assert pattern["id"] in got(by_amber) and clear["id"] in got(by_amber)
    assert got(by_collection) == {elsewhere["id"]}


def test_it_does_not_dispatch_twice(lab_a: Member, lab_b: Member) -> None:
    sub, _ = subscription_create(
        owner=lab_b, name="b", channel="webhook", url="https://example.org/h"
    )
    outbox_dispatch()  # the personas' identity objects
    publish(lab_a, indicators(lab_a, 4))
    assert outbox_dispatch() == 4
    assert outbox_dispatch() == 0
    OutboxEntry.objects.update(dispatched_at=None)  # as if the first run crashed before commit
    outbox_dispatch()
    assert DeliveryItem.objects.filter(subscription=sub).count() == 4


@override_settings(FANOUT_ALLOW_HTTP=True)
def test_it_delivers_in_order_and_dead_letters_a_refusal(
    lab_a: Member, lab_b: Member, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda n: (422 if n == 2 else 200, {}, 0.0))
    sub, secret = subscription_create(
        owner=lab_b, name="b", channel="webhook", url=receiver.url, max_batch=2
    )
    receiver.secret = secret
    assert unseal(sub.secret_sealed) == secret and secret not in sub.secret_sealed
    ids = publish(lab_a, indicators(lab_a, 6))
    outbox_dispatch()
    subscription_pump(subscription_id=str(sub.pk))
    deliveries = list(Delivery.objects.filter(subscription=sub).order_by("first_seq"))
    assert [d.state for d in deliveries] == ["delivered", "dead", "delivered"]
    assert deliveries[1].attempts == 1 and deliveries[1].last_status_code == 422
    assert receiver.ids() == ids[:2] + ids[4:]
    assert [hit.delivery_id for hit in receiver.requests] == [str(d.pk) for d in deliveries]
    assert json.loads(receiver.requests[0].body)["id"] == f"bundle--{deliveries[0].pk}"

    assert delivery_replay(delivery=deliveries[1])
    subscription_pump(subscription_id=str(sub.pk))
    deliveries[1].refresh_from_db()
    assert deliveries[1].state == DeliveryState.DELIVERED
    # After a replay, the dead letter's objects arrive after the ones published later.
    assert receiver.ids() == ids[:2] + ids[4:] + ids[2:4]
    assert receiver.requests[-1].delivery_id == str(deliveries[1].pk)


@override_settings(FANOUT_ALLOW_HTTP=True, FANOUT_MAX_ATTEMPTS=2, FANOUT_BACKOFF_BASE_MS=1)
def test_it_holds_later_deliveries_behind_a_failing_one(
    lab_a: Member, lab_b: Member, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda n: (503, {}, 0.0))
    sub, receiver.secret = subscription_create(
        owner=lab_b, name="b", channel="webhook", url=receiver.url, max_batch=1
    )
    publish(lab_a, indicators(lab_a, 3))
    outbox_dispatch()
    subscription_pump(subscription_id=str(sub.pk))
    # One attempt, then the head waits for its backoff: nothing behind it was tried.
    assert len(receiver.requests) == 1
    assert Delivery.objects.filter(subscription=sub).count() == 1
    Delivery.objects.update(next_attempt_at="2000-01-01T00:00:00Z")
    subscription_pump(subscription_id=str(sub.pk))
    head = Delivery.objects.get(subscription=sub, attempts=2)
    assert head.state == DeliveryState.DEAD  # FANOUT_MAX_ATTEMPTS reached
    assert head.attempts_log.count() == 2


@override_settings(FANOUT_MAX_BACKLOG=3)
def test_it_auto_pauses_a_subscription_over_its_backlog(lab_a: Member, lab_b: Member) -> None:
    sub, _ = subscription_create(
        owner=lab_b, name="b", channel="webhook", url="https://example.org/h"
    )
    publish(lab_a, indicators(lab_a, 4))
    outbox_dispatch()
    sub.refresh_from_db()
    assert sub.status == "paused"
    assert "FANOUT_MAX_BACKLOG=3" in sub.paused_reason
