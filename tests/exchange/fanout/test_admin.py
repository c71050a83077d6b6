"""The subscription form of the admin applies the same checks as the API."""

from __future__ import annotations

from exchange.fanout.admin import SubscriptionForm
from members.models import Member
from signatures.services import collection_create


def form_for(owner: Member, **overrides: object) -> SubscriptionForm:
    data: dict[str, object] = {
        "owner": owner.pk,
        "name": "feed",
        "channel": "webhook",
        "url": "https://receiver.example/hook",
        "object_types": "[]",
        "labels": "[]",
        "kill_chain_phases": "[]",
        "tlp_ceiling": "amber",
        "max_batch": 50,
        "max_wait_ms": 0,
        "status": "active",
    }
    data.update(overrides)
    return SubscriptionForm(data=data)


def test_it_accepts_a_valid_subscription(partner: Member) -> None:
    form = form_for(partner)
    assert form.is_valid(), form.errors


def test_it_refuses_a_collection_the_owner_cannot_read(partner: Member, lab_a: Member) -> None:
    private = collection_create(title="Lab A only", readers=[lab_a], writers=[lab_a])
    form = form_for(partner, collections=[str(private.pk)])
    assert not form.is_valid()
    assert "Not readable by the owner" in str(form.errors)


def test_it_refuses_an_out_of_range_confidence(partner: Member) -> None:
    form = form_for(partner, min_confidence=150)
    assert not form.is_valid()
    assert "between 0 and 100" in str(form.errors).lower()
