"""exchange/fanout/admin.py: the subscription form applies the same checks as the API, and
the admin changes subscriptions only through the services."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from exchange.fanout.admin import SubscriptionForm
from exchange.fanout.models import Subscription, SubscriptionStatus
from members.models import AuditEvent, Member
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


def test_it_creates_and_changes_subscriptions_through_the_services(
    admin_browser: Client, operator: User, partner: Member
) -> None:
    form = {
        "owner": partner.pk,
        "name": "SIEM",
        "channel": "webhook",
        "url": "https://siem.example/hook",
        "taxii_user": "",
        "taxii_password": "",
        "object_types": "[]",
        "labels": "[]",
        "kill_chain_phases": "[]",
        "tlp_ceiling": "amber",
        "max_batch": 50,
        "max_wait_ms": 0,
        "_save": "Save",
    }
    assert admin_browser.post("/admin/fanout/subscription/add/", form).status_code == 302
    subscription = Subscription.objects.get(name="SIEM")
    assert subscription.secret_sealed  # the service made the webhook secret
    created = AuditEvent.objects.get(action="subscription-create")
    assert created.actor_user == operator and created.after is not None
    assert created.after["url"] == "https://siem.example/hook"

    url = f"/admin/fanout/subscription/{subscription.pk}/change/"
    page = admin_browser.get(url).content.decode()
    assert 'name="status"' not in page and 'name="owner"' not in page
    changed = {**form, "url": "https://siem.example/v2", "status": "paused"}
    assert admin_browser.post(url, changed).status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://siem.example/v2"
    assert subscription.status == SubscriptionStatus.ACTIVE  # only the pause action pauses
    updated = AuditEvent.objects.get(action="subscription-update")
    assert updated.before == {"url": "https://siem.example/hook"}
    assert updated.after == {"url": "https://siem.example/v2"}

    admin_browser.post(
        "/admin/fanout/subscription/", {"action": "pause", "_selected_action": [subscription.pk]}
    )
    paused = AuditEvent.objects.get(action="subscription-pause")
    assert paused.after == {"status": "paused"} and paused.actor_user == operator
